"""``ResourceKey``: a manifest's ``Kind/name`` (``Kind/namespace/name`` in a stack namespace), the
identity plans, outcomes and status speak of.

A ``str`` subclass so that it prints, sorts and serialises as the SPEC's ``Kind/name`` text, while
code asks it for ``kind``, ``namespace`` and ``name`` instead of splitting strings. Built with
``ResourceKey.of`` (from parts) or ``ResourceKey.parse`` (from text); used by every layer.

Names and namespaces never contain ``/``. The one other key with three parts is a VirtualIP's
config (``VirtualIP/<name>/config``, ``render.vip_delivery``): VirtualIPs take no namespace, so a
``VirtualIP`` key's parts after the kind are never a namespace.
"""

from __future__ import annotations

__all__ = ["ResourceKey"]

_UNSCOPED_KINDS = ("VirtualIP",)


class ResourceKey(str):
    """``Kind/name`` or ``Kind/namespace/name``, e.g. ``Service/web``, ``Service/wp/db``. Kinds are
    the manifest kinds (``Service``, ``Route``, …) or, for objects no manifest names, the Swarm kind
    (``service``, ``config``, …)."""

    __slots__ = ()

    @classmethod
    def of(cls, kind: str, name: str, namespace: str | None = None) -> ResourceKey:
        if not kind or "/" in kind:
            raise ValueError(f"a resource kind is a word without '/': {kind!r}")
        return cls(f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}")

    @classmethod
    def parse(cls, text: str) -> ResourceKey:
        """``"Kind/name"`` or ``"Kind/namespace/name"`` → a key; ``ValueError`` when there is no
        ``/`` or nothing before it."""
        kind, slash, _ = text.partition("/")
        if not slash or not kind:
            raise ValueError(f"not a Kind/name key: {text!r}")
        return cls(text)

    @property
    def kind(self) -> str:
        return self.partition("/")[0]

    @property
    def namespace(self) -> str | None:
        kind, _, rest = self.partition("/")
        if kind in _UNSCOPED_KINDS or "/" not in rest:
            return None
        return rest.partition("/")[0]

    @property
    def name(self) -> str:
        rest = self.partition("/")[2]
        return rest.partition("/")[2] if self.namespace else rest
