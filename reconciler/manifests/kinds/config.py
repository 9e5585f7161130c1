"""``Config`` and ``Secret``: Swarm configs and secrets, content-hashed by name.

Content comes from a file next to the manifest (``file:``), inline ``data:`` (configs only) or an
object that already exists (``external: true``). The loader reads ``file:`` and checks it exists.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.object_names import ExternalConfigMetadata, managed_name_problem
from reconciler.manifests.types import Flag, Labels, Spec, shown

__all__ = ["Config", "ConfigSpec", "Secret", "SecretSpec"]

_REL_PATH = re.compile(r"^[A-Za-z0-9._@+-][A-Za-z0-9._/@+-]*$")


def _check_relative_file(value: str) -> str:
    parts = value.split("/")
    if not _REL_PATH.fullmatch(value) or ".." in parts or "" in parts:
        raise ValueError(f"{shown(value)} must be a path relative to the manifest's folder, without '..'")
    return value


RelativeFile = Annotated[str, AfterValidator(_check_relative_file)]


class _ContentSpec(Spec):
    file: RelativeFile | None = Field(default=None, description="A file relative to this manifest.")
    external: Flag = Field(default=False, description="The object exists already and is not managed.")
    labels: Labels = Field(default_factory=dict)

    def _sources(self) -> int:
        return int(self.file is not None) + int(self.external)


class ConfigSpec(_ContentSpec):
    data: str | None = Field(default=None, description="Inline content.")
    template: Literal["golang"] | None = Field(
        default=None, description="Render the content with Swarm's golang template driver."
    )

    @model_validator(mode="after")
    def _one_source(self) -> ConfigSpec:
        if self._sources() + int(self.data is not None) != 1:
            raise ValueError("set exactly one of `file`, `data` or `external: true`")
        return self


class SecretSpec(_ContentSpec):
    @model_validator(mode="after")
    def _one_source(self) -> SecretSpec:
        if self._sources() != 1:
            raise ValueError("set exactly one of `file` or `external: true` (secrets take no inline data)")
        return self


class Config(Resource):
    KIND = "Config"
    kind: Literal["Config"]
    metadata: ExternalConfigMetadata
    spec: ConfigSpec

    @model_validator(mode="after")
    def _managed_name(self) -> Config:
        managed_name_problem(self.name, self.spec.external)
        return self


class Secret(Resource):
    KIND = "Secret"
    kind: Literal["Secret"]
    metadata: ExternalConfigMetadata
    spec: SecretSpec

    @model_validator(mode="after")
    def _managed_name(self) -> Secret:
        managed_name_problem(self.name, self.spec.external)
        return self
