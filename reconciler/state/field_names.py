"""Essence paths (Engine field names) to the manifest fields a person wrote, for ``diff`` and ``-o json``.

A plan compares essences, which use the Engine's names (``Mode.Replicas``, ``ContainerSpec.Env``); a
person reads a diff against the manifest (``spec.replicas``, ``spec.env``), like ``kubectl diff``.
Traefik labels on a service come from Route and Middleware manifests, so a label difference is named
by the manifest it comes from (``Route/web`` ``spec.entryPoints``), not as a label of the Service.
Paths not in the tables fall back to the Engine's names under ``spec.`` in camelCase, so a new field
is still shown, only less nicely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reconciler import LABEL_PREFIX as PREFIX

__all__ = ["ManifestField", "manifest_field"]

Path = tuple[str | int, ...]


@dataclass(frozen=True)
class ManifestField:
    """Where a difference lives in the manifests: ``owner`` (``Kind/name``) and the field path in it."""

    owner: str
    field: str


# Longest prefix first: (essence path prefix, manifest field) per kind. A suffix past the prefix is
# appended in camelCase (``UpdateConfig.FailureAction`` → ``spec.updateConfig.failureAction``).
_SERVICE: tuple[tuple[Path, str], ...] = (
    (("Name",), "metadata.name"),
    (("Mode", "Replicas"), "spec.replicas"),
    (("Mode", "Global"), "spec.mode"),
    (("Mode",), "spec.mode"),
    (("ContainerSpec", "Image"), "spec.image"),
    (("ContainerSpec", "Command"), "spec.command"),
    (("ContainerSpec", "Args"), "spec.args"),
    (("ContainerSpec", "Env"), "spec.env"),
    (("ContainerSpec", "Labels"), "spec.containerLabels"),
    (("ContainerSpec", "Mounts"), "spec.mounts"),
    (("ContainerSpec", "Configs"), "spec.configs"),
    (("ContainerSpec", "Secrets"), "spec.secrets"),
    (("ContainerSpec", "Healthcheck", "StartPeriod"), "spec.healthcheck.startPeriod"),
    (("ContainerSpec", "Healthcheck"), "spec.healthcheck"),
    (("ContainerSpec", "Hostname"), "spec.hostname"),
    (("ContainerSpec", "User"), "spec.user"),
    (("ContainerSpec", "Dir"), "spec.workdir"),
    (("ContainerSpec", "CapabilityAdd"), "spec.capAdd"),
    (("ContainerSpec", "CapabilityDrop"), "spec.capDrop"),
    (("ContainerSpec", "StopGracePeriod"), "spec.stopGracePeriod"),
    (("ContainerSpec", "Hosts"), "spec.extraHosts"),
    (("ContainerSpec", "DNSConfig"), "spec.dns"),
    (("ContainerSpec", "Groups"), "spec.groupAdd"),
    (("ContainerSpec", "TTY"), "spec.tty"),
    (("ContainerSpec", "OpenStdin"), "spec.stdinOpen"),
    (("ContainerSpec",), "spec"),
    (("LogDriver", "Name"), "spec.logging.driver"),
    (("LogDriver", "Options"), "spec.logging.options"),
    (("LogDriver",), "spec.logging"),
    (("Networks",), "spec.networks"),
    (("EndpointSpec", "Ports"), "spec.ports"),
    (("Resources", "Limits", "NanoCPUs"), "spec.resources.limits.cpus"),
    (("Resources", "Limits", "MemoryBytes"), "spec.resources.limits.memory"),
    (("Resources", "Reservations", "NanoCPUs"), "spec.resources.reservations.cpus"),
    (("Resources", "Reservations", "MemoryBytes"), "spec.resources.reservations.memory"),
    (("Placement", "MaxReplicas"), "spec.placement.maxReplicasPerNode"),
    (("Placement", "Constraints"), "spec.placement.constraints"),
    (("Placement", "Preferences"), "spec.placement.preferences"),
    (("Placement", "Platforms"), "spec.placement.platforms"),
    (("RestartPolicy", "MaxAttempts"), "spec.restartPolicy.maxAttempts"),
    (("RestartPolicy",), "spec.restartPolicy"),
    (("UpdateConfig",), "spec.updateConfig"),
    (("RollbackConfig",), "spec.rollbackConfig"),
    (("Labels",), "spec.labels"),
)
_NETWORK: tuple[tuple[Path, str], ...] = (
    (("IPAM",), "spec.ipam"),
    (("Labels",), "spec.labels"),
    (("Options",), "spec.options"),
)
# A config's or secret's name holds the hash of its content: a new name is new data.
_CONTENT: tuple[tuple[Path, str], ...] = ((("Name",), "spec.data"), (("Labels",), "spec.labels"))
_TABLES = {"Service": _SERVICE, "Network": _NETWORK, "Config": _CONTENT, "Secret": _CONTENT}

# Traefik label keys → the Route or Middleware field they come from (``reconciler.render.traefik``).
_ROUTER = re.compile(r"^traefik\.(?:http|tcp)\.routers\.(?P<name>[^.]+)\.(?P<rest>.+)$")
_LB_SERVICE = re.compile(r"^traefik\.(?:http|tcp)\.services\.(?P<name>[^.]+)\.loadbalancer\.server\.port$")
_MIDDLEWARE = re.compile(r"^traefik\.http\.middlewares\.(?P<name>[^.]+)\.(?P<rest>.+)$")
_ROUTER_FIELDS = {
    "rule": "spec.hosts/spec.pathPrefix (rule)",
    "entrypoints": "spec.entryPoints",
    "middlewares": "spec.middlewares",
    "tls": "spec.tls",
    "tls.certresolver": "spec.tls.certResolver",
    "priority": "spec.priority",
    "service": "spec.service",
}


def _camel(part: str | int) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    return part[:1].lower() + part[1:]


def _join(base: str, rest: Path) -> str:
    out = base
    for part in rest:
        out += _camel(part) if isinstance(part, int) else f".{_camel(part)}"
    return out


def _label(owner: str, key: str, rest: Path) -> ManifestField:
    """A label difference: a Route's or Middleware's when Traefik's, else the service's own."""
    if (found := _ROUTER.match(key)) is not None:
        field = _ROUTER_FIELDS.get(found["rest"].lower(), f"(label {found['rest']})")
        return ManifestField(f"Route/{found['name']}", field)
    if (found := _LB_SERVICE.match(key)) is not None:
        return ManifestField(f"Route/{found['name']}", "spec.port")
    if (found := _MIDDLEWARE.match(key)) is not None:
        _, _, option = found["rest"].partition(".")  # headers.stsSeconds: spec.type headers, options
        return ManifestField(f"Middleware/{found['name']}", f"spec.options.{option}" if option else "spec.type")
    if key == "traefik.swarm.network":
        return ManifestField("Route", "spec.network")
    if key.startswith("traefik."):
        return ManifestField("Route", f"(label {key})")
    if key.startswith(PREFIX):
        return ManifestField(owner, f"metadata (label {key})")
    return ManifestField(owner, _join(f"spec.labels[{key}]", rest))


def manifest_field(owner: str, kind: str, path: Path) -> ManifestField:
    """Where the essence ``path`` of ``owner`` (a ``Kind/name``; ``kind`` its kind) is written in the
    manifests. ``owner`` is kept unless a Route or Middleware wrote the field."""
    if kind == "Service" and len(path) >= 2 and path[0] == "Labels" and isinstance(path[1], str):
        return _label(owner, path[1], path[2:])
    for prefix, field in _TABLES.get(kind, ()):
        if path[: len(prefix)] == prefix:
            return ManifestField(owner, _join(field, path[len(prefix) :]))
    return ManifestField(owner, _join("spec", path))
