"""``Volume``: a named volume that services mount, defined by its driver options (NFS or generic).

The Docker volume name carries a hash of the driver options (computed in ``reconciler.render``),
so a changed option set never silently reuses a stale volume on a node. An ``external`` volume
exists already (made by ``docker service create --mount`` or by hand) and keeps its Docker name:
its mounts carry the driver, options and labels given here and nothing of the reconciler's, so a
service that already mounts it is adopted without a change to its task template. ``driverOptions``
without ``driver`` mounts with options and no driver name, as docker stack deploy mounts a compose
volume with ``driver_opts`` and no ``driver`` (docker-cli ``cli/compose/convert/volume.go``:
``DriverConfig{Name: "", Options: ...}``); the engine then uses its default driver, ``local``.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address, IPv6Address
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, model_validator

from reconciler.core.labels import STACK_NAMESPACE
from reconciler.manifests.ip_text import text_only
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.object_names import ExternalVolumeMetadata, managed_name_problem
from reconciler.manifests.types import Flag, Hostname, LabelKey, SafeText, Spec, empty_list, nested_error, shown

__all__ = ["Nfs", "Volume", "VolumeSpec"]

# Options end up comma-joined in the mount's `o=` string: a comma or '=' in a value would
# smuggle in another option.
_NFS_OPTION = re.compile(r"^[a-z][a-z0-9_]*(=[A-Za-z0-9_.:/+-]+)?$")
_MANAGED_NFS_OPTIONS = {"addr", "nfsvers", "vers"}
_NFS_PATH = re.compile(r"^/[A-Za-z0-9._~/@+-]*$")
_DRIVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]*$")


def _check_nfs_option(value: str) -> str:
    if not _NFS_OPTION.fullmatch(value):
        raise ValueError(f"{shown(value)} is not an NFS mount option such as 'soft', 'timeo=600' or 'nolock'")
    if value.split("=", 1)[0] in _MANAGED_NFS_OPTIONS:
        raise ValueError(f"{shown(value)}: set the server with `server` and the version with `version`")
    return value


def _check_nfs_path(value: str) -> str:
    if not _NFS_PATH.fullmatch(value) or "//" in value or "/../" in value + "/":
        raise ValueError(f"{shown(value)} is not an absolute export path such as /srv/nfs/www")
    return value


class Nfs(Spec):
    server: Annotated[
        IPv4Address | IPv6Address | Hostname, text_only("a host name or an IP address such as nas.example.org")
    ]
    path: Annotated[str, AfterValidator(_check_nfs_path)] = Field(description="The exported path.")
    version: Literal["3", "4", "4.0", "4.1", "4.2"] = "4.1"
    options: list[Annotated[str, AfterValidator(_check_nfs_option)]] = Field(
        default_factory=empty_list, description="Extra mount options, e.g. [rw, soft, timeo=600]."
    )


def _mount_label_key(value: str) -> str:
    """A label key; docker stack's namespace label too, which only an external volume may state (a
    stack's volume mounts carry it, docker-cli ``convert.AddStackLabel``; a managed one gets it from
    ``metadata.namespace``)."""
    return value if value == STACK_NAMESPACE else _label_key(value)


_label_key = get_args(LabelKey)[1].func  # LabelKey's own check (types._check_label_key)


class VolumeSpec(Spec):
    nfs: Nfs | None = None
    driver: Annotated[str, Field(pattern=_DRIVER_NAME.pattern)] | None = Field(
        default=None,
        description="A volume driver name, when not NFS (e.g. `local`). Omitted with `driverOptions`, the mounts "
        "name no driver (the engine's default, `local`), as docker stack deploy mounts a compose volume with "
        "`driver_opts` and no `driver`.",
    )
    driver_options: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")], SafeText] = Field(default_factory=dict)
    labels: dict[Annotated[str, AfterValidator(_mount_label_key)], SafeText] = Field(
        default_factory=dict, description="Labels of the volume, in every mount of it."
    )
    external: Flag = Field(
        default=False,
        description="The volume exists already under this name and is not managed: mounts use the name as it "
        "is, with the driver, options and labels given here (as the live mounts have them) and no label of "
        "the reconciler's; no hash is added. `reconciler import swarm` writes these.",
    )

    @model_validator(mode="after")
    def _one_source(self) -> VolumeSpec:
        if self.nfs is not None and (self.driver is not None or self.driver_options):
            raise ValueError("set either `nfs` or `driver`/`driverOptions`, not both")
        if STACK_NAMESPACE in self.labels and not self.external:
            raise nested_error(
                ("labels", STACK_NAMESPACE),
                f"{STACK_NAMESPACE} is written from the manifest's namespace: set metadata.namespace instead",
            )
        return self


class Volume(Resource):
    KIND = "Volume"
    kind: Literal["Volume"]
    metadata: ExternalVolumeMetadata
    spec: VolumeSpec = Field(default_factory=VolumeSpec)

    @model_validator(mode="after")
    def _managed_name(self) -> Volume:
        managed_name_problem(self.name, self.spec.external)
        return self
