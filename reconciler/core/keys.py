"""``ResourceKey``: a manifest's ``Kind/name``, the identity plans, outcomes and status speak of.

A ``str`` subclass so that it prints, sorts and serialises as the SPEC's ``Kind/name`` text, while
code asks it for ``kind`` and ``name`` instead of splitting strings. Built with ``ResourceKey.of``
(from parts) or ``ResourceKey.parse`` (from text); used by every layer.
"""

from __future__ import annotations

__all__ = ["ResourceKey"]


class ResourceKey(str):
    """``Kind/name``, e.g. ``Service/web``. Kinds are the manifest kinds (``Service``, ``Route``, …)
    or, for objects no manifest names, the Swarm kind (``service``, ``config``, …)."""

    __slots__ = ()

    @classmethod
    def of(cls, kind: str, name: str) -> ResourceKey:
        if not kind or "/" in kind:
            raise ValueError(f"a resource kind is a word without '/': {kind!r}")
        return cls(f"{kind}/{name}")

    @classmethod
    def parse(cls, text: str) -> ResourceKey:
        """``"Kind/name"`` → a key; ``ValueError`` when there is no ``/`` or nothing before it."""
        kind, slash, _ = text.partition("/")
        if not slash or not kind:
            raise ValueError(f"not a Kind/name key: {text!r}")
        return cls(text)

    @property
    def kind(self) -> str:
        return self.partition("/")[0]

    @property
    def name(self) -> str:
        return self.partition("/")[2]
