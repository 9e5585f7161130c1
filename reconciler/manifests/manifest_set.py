"""The result of loading: validated manifests with their sources, and the contents of their files.

Immutable once built; the desired-state compiler and the renderers read from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TypeVar

from reconciler.manifests.errors import ManifestWarning
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.kinds.traefik import Middleware, Route
from reconciler.manifests.namespaces import Resolver
from reconciler.manifests.registry import APPLY_ORDER
from reconciler.manifests.yaml_source import SourceDocument

__all__ = ["LoadedManifest", "ManifestSet"]

R = TypeVar("R", bound=Resource)
_KIND_RANK = {cls.KIND: rank for rank, cls in enumerate(APPLY_ORDER)}


@dataclass(frozen=True, slots=True)  # one per manifest, rebuilt every load: no __dict__ each
class LoadedManifest:
    resource: Resource
    source: SourceDocument
    folder: Path  # the manifest file's folder: `file:` references are relative to it


@dataclass(frozen=True)
class ManifestSet:
    root: Path
    items: tuple[LoadedManifest, ...] = ()
    # Content of Config/Secret `file:` references, read at load time so that one load is one revision.
    contents: dict[str, bytes] = field(default_factory=dict, repr=False)
    # Legal but almost surely wrong (``warning_checks``): shown by `validate`, never blocking.
    warnings: tuple[ManifestWarning, ...] = field(default=(), compare=False)
    _by_key: dict[str, LoadedManifest] = field(init=False, repr=False, compare=False)
    _by_kind: dict[str, list[Resource]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = sorted(
            self.items, key=lambda m: (_KIND_RANK[m.resource.KIND], m.resource.name, m.resource.namespace or "")
        )
        object.__setattr__(self, "items", tuple(ordered))
        # Lookups by key and kind are made once per object when a revision is compiled: index them,
        # or compiling 1,000 manifests scans them a million times.
        object.__setattr__(self, "_by_key", {m.resource.key: m for m in ordered})
        by_kind: dict[str, list[Resource]] = {}
        for m in ordered:
            by_kind.setdefault(m.resource.KIND, []).append(m.resource)
        object.__setattr__(self, "_by_kind", by_kind)

    def __iter__(self) -> Iterator[Resource]:
        return (m.resource for m in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: str) -> Resource | None:
        """``Kind/name`` to the resource, or None."""
        found = self._by_key.get(key)
        return found.resource if found else None

    def loaded(self, key: str) -> LoadedManifest | None:
        return self._by_key.get(key)

    def of_kind(self, cls: type[R]) -> list[R]:
        return [r for r in self._by_kind.get(cls.KIND, []) if isinstance(r, cls)]

    @cached_property
    def resolver(self) -> Resolver:
        """Names written in manifests to manifests, namespace first (``manifests.namespaces``)."""
        return Resolver(self)

    def resolve(self, kind: str, name: str, namespace: str | None) -> Resource | None:
        return self.resolver.find(kind, name, namespace)

    def target_name(self, kind: str, name: str, namespace: str | None) -> str:
        """The Swarm name that ``name``, written in ``namespace``, refers to: the manifest's
        Swarm name, or ``name`` itself for an object no manifest declares."""
        found = self.resolve(kind, name, namespace)
        return found.swarm_name if found is not None else name

    def network_name(self, name: str, namespace: str | None) -> str:
        """``target_name`` for a network (what ``traefik.swarm.network`` and attachments hold)."""
        return self.target_name("Network", name, namespace)

    @cached_property
    def routes_by_service(self) -> dict[str, list[Route]]:
        """Swarm name of the target service → the Routes that target it, in load order: built once, so
        compiling every service is linear in the number of manifests, not services × routes."""
        found: dict[str, list[Route]] = {}
        for route in self.of_kind(Route):
            found.setdefault(self.target_name("Service", route.spec.service, route.namespace), []).append(route)
        return found

    @cached_property
    def middlewares_by_name(self) -> dict[str, Middleware]:
        """Traefik name (``<namespace>_<name>`` in a namespace) → the Middleware."""
        return {m.swarm_name: m for m in self.of_kind(Middleware)}
