"""Compose service keys whose Service fields other modules add to the kind (``service_runtime``,
``service_task``): each is mapped when the kind, as it is now, has the field, and otherwise left for
the caller to report as not expressible. So the import follows the kind without a change here.

The values are reshaped as docker-cli ``cli/compose/convert/service.go`` passes them: ulimits as
numbers or ``{soft, hard}``, sysctl values as text, ``extra_hosts`` as ``host:address`` entries (the
kind writes Swarm's ``address host``), ``dns``/``dns_search``/``dns_opt`` as one ``dns`` setting.
Used by ``compose_service``.
"""

from __future__ import annotations

from typing import Any, get_args

from reconciler.importing.conversion import as_bool, as_int
from reconciler.manifests.kinds.service import Mount, Resources, ServiceSpec

__all__ = ["GENERIC_RESOURCES", "PIDS", "TMPFS_OPTIONS", "runtime_fields", "text"]

# Compose key -> the Service field that says it.
_RUNTIME = {
    "ulimits": "ulimits", "sysctls": "sysctls", "init": "init", "stop_signal": "stopSignal", "read_only": "readOnly",
    "extra_hosts": "extraHosts", "group_add": "groupAdd", "isolation": "isolation", "logging": "logging",
    "tty": "tty", "stdin_open": "stdinOpen", "oom_score_adj": "oomScoreAdj",
}  # fmt: skip
_DNS = {"dns": "nameservers", "dns_search": "search", "dns_opt": "options"}
_BOOLEANS = ("init", "read_only", "tty", "stdin_open")


def _amount_fields(key: str) -> set[str]:
    """The fields of ``resources.<key>`` (limits or reservations) in the kind as it is now."""
    annotation = Resources.model_fields[key].annotation
    models = [a for a in (*get_args(annotation), annotation) if hasattr(a, "model_fields")]
    return set(models[0].model_fields) if models else set()


TMPFS_OPTIONS = Mount.model_fields["tmpfs"].annotation is not bool  # a tmpfs mount takes {size, mode}
GENERIC_RESOURCES = "generic_resources" in _amount_fields("reservations")
PIDS = "pids" in _amount_fields("limits")


def text(value: Any) -> str:
    """A compose scalar as the text Swarm gets (``true``, not ``True``)."""
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _value(key: str, value: Any) -> Any:
    if key == "ulimits":
        return {
            name: as_int(limit) if not isinstance(limit, dict) else {k: as_int(v) for k, v in limit.items()}
            for name, limit in value.items()
        }
    if key == "sysctls":
        return {name: text(v) for name, v in value.items()}
    if key in _BOOLEANS:
        return as_bool(value)
    if key == "extra_hosts":
        return [f"{host}:{address}" for host, address in value.items()]
    if key == "oom_score_adj":
        return as_int(value)
    if key == "group_add":
        return [text(v) for v in value]
    return value if isinstance(value, dict) else text(value)


def runtime_fields(service: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The Service fields for ``service``'s runtime keys the kind has, and the compose keys used."""
    fields = {info.alias or name for name, info in ServiceSpec.model_fields.items()}
    spec: dict[str, Any] = {}
    used: set[str] = set()
    for compose_key, field in _RUNTIME.items():
        value = service.get(compose_key)
        if value is not None and field in fields:
            used.add(compose_key)
            spec[field] = _value(compose_key, value)
    dns = {field: service[key] for key, field in _DNS.items() if service.get(key)}
    if dns and "dns" in fields:
        used.update(key for key in _DNS if key in service)
        spec["dns"] = {k: [str(v) for v in (vs if isinstance(vs, list) else [vs])] for k, vs in dns.items()}
    return spec, used
