"""Compose and Traefik names to manifest names (``[a-z0-9]([-a-z0-9]*[a-z0-9])?``, at most 63).

Compose allows ``_``, ``.`` and capitals in service, network, volume, config and secret names
(compose-spec schema: ``^[a-zA-Z0-9._-]+$``); Traefik router and middleware names are free text.
The mapping: lowercase, every character outside ``[a-z0-9-]`` becomes ``-``, runs of ``-`` collapse,
``-`` at either end is dropped, and the result is cut at 63 characters. Two names that map to one
(``web_app`` and ``web-app``) are a collision: ``NameTable`` reports it instead of merging them.
Used by every converter in ``reconciler.importing``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["NameTable", "manifest_name"]

_OUTSIDE = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")
MAX_NAME = 63


def manifest_name(name: str) -> str:
    """The manifest name for ``name``; empty when nothing of it is usable (the caller reports it)."""
    text = _DASHES.sub("-", _OUTSIDE.sub("-", name.lower())).strip("-")
    return text[:MAX_NAME].rstrip("-")


@dataclass
class NameTable:
    """Names of one kind handed out so far: ``claim`` returns the manifest name for a source name,
    or None when it is empty or already taken by another source name (``collisions`` says which)."""

    kind: str
    given: dict[str, str] = field(default_factory=dict)  # manifest name -> source name
    collisions: list[tuple[str, str, str]] = field(default_factory=list)  # (source, other source, name)

    def claim(self, source: str) -> str | None:
        name = manifest_name(source)
        if not name:
            return None
        owner = self.given.setdefault(name, source)
        if owner != source:
            self.collisions.append((source, owner, name))
            return None
        return name
