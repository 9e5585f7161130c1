"""The result of loading: validated manifests with their sources, and the contents of their files.

Immutable once built; the desired-state compiler and the renderers read from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.registry import APPLY_ORDER
from reconciler.manifests.yaml_source import SourceDocument

__all__ = ["LoadedManifest", "ManifestSet"]

R = TypeVar("R", bound=Resource)
_KIND_RANK = {cls.KIND: rank for rank, cls in enumerate(APPLY_ORDER)}


@dataclass(frozen=True)
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

    def __post_init__(self) -> None:
        ordered = sorted(self.items, key=lambda m: (_KIND_RANK[m.resource.KIND], m.resource.name))
        object.__setattr__(self, "items", tuple(ordered))

    def __iter__(self) -> Iterator[Resource]:
        return (m.resource for m in self.items)

    def __len__(self) -> int:
        return len(self.items)

    def get(self, key: str) -> Resource | None:
        """``Kind/name`` to the resource, or None."""
        return next((m.resource for m in self.items if m.resource.key == key), None)

    def loaded(self, key: str) -> LoadedManifest | None:
        return next((m for m in self.items if m.resource.key == key), None)

    def of_kind(self, cls: type[R]) -> list[R]:
        return [m.resource for m in self.items if isinstance(m.resource, cls)]
