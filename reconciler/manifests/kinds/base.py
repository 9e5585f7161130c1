"""The envelope every kind shares: ``apiVersion``, ``kind``, ``metadata``, ``spec``.

Kind modules subclass ``Resource`` with a ``Literal`` kind and their own spec; the registry joins
them into one union discriminated on ``kind``.
"""

from __future__ import annotations

from functools import cached_property
from typing import ClassVar, Literal

from pydantic import Field, model_validator

from reconciler import API_VERSION
from reconciler.core.keys import ResourceKey
from reconciler.core.swarm_names import MAX_CONFIG_NAME, MAX_NAME, scoped
from reconciler.manifests.types import Metadata, Spec, nested_error

__all__ = ["Reference", "Resource"]


class Resource(Spec):
    """A manifest document. ``references()`` names the other manifests it needs, for the cross checks.
    The models are frozen, so ``key`` and ``swarm_name`` are computed once per manifest (the checks,
    the compile and the revision ask for them ~10,000 times a load at 1,000 manifests; issue 18)."""

    KIND: ClassVar[str] = ""

    api_version: Literal["reconciler.swarm/v1alpha1"] = Field(alias="apiVersion", description=f"Always {API_VERSION}.")
    metadata: Metadata

    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def namespace(self) -> str | None:
        return self.metadata.namespace

    @cached_property
    def key(self) -> ResourceKey:
        """``Kind/name`` or ``Kind/namespace/name``: unique in a manifest set, used in messages and plans."""
        return ResourceKey.of(self.KIND, self.metadata.name, self.metadata.namespace)

    @property
    def external(self) -> bool:
        """The object exists already and keeps its own name (``Network``, ``Config``, ``Secret``).
        Read from the models' field values: ``getattr`` on a spec without the field goes through
        pydantic's missing-attribute path, ~4 µs, and every Swarm name asks (issue 18)."""
        spec = vars(self).get("spec")
        return spec is not None and bool(vars(spec).get("external", False))

    @cached_property
    def swarm_name(self) -> str:
        """The Swarm object's name: ``<namespace>_<name>`` in a namespace (docker-cli's
        ``Namespace.Scope``), except an external object, which is named as it is, as in compose."""
        return self.name if self.external else scoped(self.metadata.namespace, self.metadata.name)

    @model_validator(mode="after")
    def _scoped_name_fits(self) -> Resource:
        limit = MAX_CONFIG_NAME if self.KIND in ("Config", "Secret") else MAX_NAME
        if self.metadata.namespace and not self.external and len(self.swarm_name) > limit:
            raise nested_error(
                ("metadata", "name"),
                f"the Swarm name {self.swarm_name!r} has {len(self.swarm_name)} characters; Swarm allows "
                f"{limit} for a {self.KIND} (swarmkit controlapi/common.go): shorten the name or the namespace",
            )
        return self

    def references(self) -> list[Reference]:
        return []


class Reference(Spec):
    """A pointer from one manifest to another, with the field path it came from (for messages)."""

    kind: str
    name: str
    namespace: str | None = None  # written out (`Service/blog/db`); None: resolved from the referrer's
    field_path: tuple[str | int, ...]
    optional: bool = False  # True: the target may also exist outside the manifest set
