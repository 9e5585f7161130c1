"""The envelope every kind shares: ``apiVersion``, ``kind``, ``metadata``, ``spec``.

Kind modules subclass ``Resource`` with a ``Literal`` kind and their own spec; the registry joins
them into one union discriminated on ``kind``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from reconciler import API_VERSION
from reconciler.core.keys import ResourceKey
from reconciler.manifests.types import Metadata, Spec

__all__ = ["Reference", "Resource"]


class Resource(Spec):
    """A manifest document. ``references()`` names the other manifests it needs, for the cross checks."""

    KIND: ClassVar[str] = ""

    api_version: Literal["reconciler.swarm/v1alpha1"] = Field(alias="apiVersion", description=f"Always {API_VERSION}.")
    metadata: Metadata

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def key(self) -> ResourceKey:
        """``Kind/name``: unique in a manifest set, used in messages and plans."""
        return ResourceKey.of(self.KIND, self.metadata.name)

    def references(self) -> list[Reference]:
        return []


class Reference(Spec):
    """A pointer from one manifest to another, with the field path it came from (for messages)."""

    kind: str
    name: str
    field_path: tuple[str | int, ...]
    optional: bool = False  # True: the target may also exist outside the manifest set
