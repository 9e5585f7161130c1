"""Compose short syntaxes to their long form, and several compose files merged into one, in order.

Canonical forms (compose-spec "Compose file reference"; docker-cli ``loader.go`` does the same
while loading): ``environment``, ``labels``, ``deploy.labels``, ``sysctls``, ``extra_hosts`` lists
of ``KEY=VALUE`` become mappings; ``networks`` lists become mappings; ``ports`` (``"8080:80/udp"``,
``80``, ranges) become long-form entries; ``volumes`` (``"data:/var/lib:ro"``) long-form entries;
``secrets``/``configs`` names become ``{source: name}``; ``command``/``entrypoint`` strings are split
as a shell would (docker-cli ``ShellCommand``, google/shlex).

Merging follows compose-go ``override/merge.go`` and ``override/uncity.go``: mappings merge key by
key, the later file winning for scalars; ``command``, ``entrypoint`` and ``healthcheck.test`` are
replaced whole; other sequences are appended and then made unique: ``ports`` by published port,
target and protocol, ``volumes`` by target, ``secrets`` and ``configs`` by target, ``cap_add``,
``cap_drop``, ``dns``, ``dns_search`` by value; ``logging`` options merge only when the driver
is the same. Used by ``compose_loading``.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Sequence
from typing import Any

__all__ = ["PortSyntaxError", "ServiceSyntaxError", "canonical_service", "merge_files"]

_PORT = re.compile(
    r"^(?:(?P<ip>[0-9]+(?:\.[0-9]+){3}|\[[0-9a-fA-F:]+\]):)?(?:(?P<published>[0-9]+(?:-[0-9]+)?)?:)?"
    r"(?P<target>[0-9]+(?:-[0-9]+)?)(?:/(?P<protocol>tcp|udp|sctp))?$"
)
_KEY_VALUE_FIELDS = ("environment", "labels", "sysctls")


class ServiceSyntaxError(ValueError):
    """A service's short syntax that cannot be read; ``key`` is the service key it is under."""

    def __init__(self, message: str, key: str) -> None:
        super().__init__(message)
        self.key = key


class PortSyntaxError(ServiceSyntaxError):
    def __init__(self, message: str) -> None:
        super().__init__(message, "ports")


def _key_values(value: Any, separator: str = "=") -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    result: dict[str, Any] = {}
    for item in value or []:
        key, found, rest = str(item).partition(separator)
        result[key] = rest if found else None
    return result


MAX_PORT = 65535
# Ports one service may expand to: a manifest holding more would not fit the 1 MiB a manifest file
# may have (about 50 bytes a port); "1-65535" twice made a 7 MB manifest in 17 s, and a range such as
# "1-9999999999" would have been built as a list before anything checked it.
MAX_SERVICE_PORTS = 10_000


def _range(item: Any, text: str) -> range:
    """docker-cli ``nat.ParsePortRange``: ports 0-65535, the first not after the last."""
    first, _, last = text.partition("-")
    start, end = int(first), int(last or first)
    if end > MAX_PORT or start > end:
        raise PortSyntaxError(
            f"{item!r}: {text} is not a port range (ports are 0-{MAX_PORT}, the first not after the last)"
        )
    return range(start, end + 1)


def _ports(value: Any) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            ports.append(dict(item))
            continue
        match = _PORT.fullmatch(str(item))
        if match is None:
            raise PortSyntaxError(f"{item!r} is not a port such as 8080:80 or 53:53/udp")
        targets = _range(item, match["target"])
        published: Sequence[int | None] = (
            _range(item, match["published"]) if match["published"] else [None] * len(targets)
        )
        if len(published) != len(targets):
            raise PortSyntaxError(f"{item!r}: the published and target ranges differ in length")
        if len(ports) + len(targets) > MAX_SERVICE_PORTS:
            raise PortSyntaxError(f"{item!r}: more than {MAX_SERVICE_PORTS} ports: a manifest holds no more (1 MiB)")
        for one_target, one_published in zip(targets, published, strict=True):
            entry: dict[str, Any] = {"target": one_target, "protocol": match["protocol"] or "tcp", "mode": "ingress"}
            if one_published is not None:
                entry["published"] = one_published
            if match["ip"]:
                entry["host_ip"] = match["ip"]
            ports.append(entry)
    if len(ports) > MAX_SERVICE_PORTS:
        raise PortSyntaxError(f"more than {MAX_SERVICE_PORTS} ports: a manifest holds no more (1 MiB)")
    return ports


def _volume(item: Any) -> dict[str, Any]:
    """docker-cli ``volumespec.Parse``: ``[source:]target[:mode]``; a source starting with ``/``,
    ``.`` or ``~`` is a bind mount, else a named volume; no source is an anonymous volume."""
    if isinstance(item, dict):
        return dict(item)
    parts = str(item).split(":")
    if len(parts) == 1:
        return {"type": "volume", "target": parts[0]}
    source, target = parts[0], parts[1]
    entry: dict[str, Any] = {"source": source, "target": target}
    entry["type"] = "bind" if source.startswith(("/", ".", "~")) else "volume"
    for mode in parts[2].split(",") if len(parts) > 2 else []:
        if mode == "ro":
            entry["read_only"] = True
        elif mode == "rw":
            entry["read_only"] = False
        elif mode == "nocopy":
            entry.setdefault("volume", {})["nocopy"] = True
        elif mode:
            entry.setdefault("_modes", []).append(mode)
    return entry


def canonical_service(service: dict[str, Any]) -> dict[str, Any]:
    """One service's long form (a copy); ``ServiceSyntaxError`` for a port that is not a port or a
    command a shell could not split (an unclosed quote)."""
    result = copy.deepcopy(service)
    for key in _KEY_VALUE_FIELDS:
        if key in result:
            result[key] = _key_values(result[key])
    deploy = result.get("deploy")
    if isinstance(deploy, dict) and "labels" in deploy:
        deploy["labels"] = _key_values(deploy["labels"])
    if "extra_hosts" in result:
        value = result["extra_hosts"]
        result["extra_hosts"] = (
            value
            if isinstance(value, dict)
            else _key_values([str(v).replace("=", ":", 1) if "=" in str(v) else str(v) for v in value], ":")
        )
    if isinstance(result.get("networks"), list):
        result["networks"] = {str(name): None for name in result["networks"]}
    if "ports" in result:
        result["ports"] = _ports(result["ports"])
    if "volumes" in result:
        result["volumes"] = [_volume(item) for item in result["volumes"]]
    for key in ("secrets", "configs"):
        if key in result:
            result[key] = [dict(item) if isinstance(item, dict) else {"source": str(item)} for item in result[key]]
    for key in ("command", "entrypoint"):
        if isinstance(result.get(key), str):
            try:
                result[key] = shlex.split(result[key])
            except ValueError as exc:  # docker-cli's shell split fails alike: "invalid command line string"
                raise ServiceSyntaxError(f"{result[key]!r} cannot be split as a shell would: {exc}", key) from None
    if isinstance(result.get("dns"), str):
        result["dns"] = [result["dns"]]
    return result


def _port_key(port: dict[str, Any]) -> Any:
    return (str(port.get("published")), str(port.get("target")), port.get("protocol", "tcp"))


def _file_target(kind: str) -> Any:
    default = "/run/secrets/" if kind == "secrets" else "/"
    return lambda item: item.get("target") or f"{default}{item.get('source')}"


_UNIQUE: dict[str, Any] = {
    "ports": _port_key,
    "volumes": lambda item: item.get("target"),
    "secrets": _file_target("secrets"),
    "configs": _file_target("configs"),
    "cap_add": lambda item: item,
    "cap_drop": lambda item: item,
    "dns": lambda item: item,
    "dns_search": lambda item: item,
}
_REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}


def _unique(items: list[Any], key: Any) -> list[Any]:
    found: dict[Any, Any] = {}
    for item in items:
        found[key(item)] = item  # the later one wins, in the place of the first
    return list(found.values())


def _merge_service(base: Any, other: Any, path: tuple[str, ...]) -> Any:
    if path in _REPLACED or other is None:
        return base if other is None else copy.deepcopy(other)
    same_driver = not (isinstance(base, dict) and isinstance(other, dict)) or base.get(
        "driver", other.get("driver")
    ) == other.get("driver", base.get("driver"))
    if path == ("logging",) and not same_driver:
        return copy.deepcopy(other)
    if isinstance(base, dict) and isinstance(other, dict):
        merged = dict(base)
        for key, value in other.items():
            merged[key] = _merge_service(base[key], value, (*path, key)) if key in base else copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(other, list):
        joined = [*base, *copy.deepcopy(other)]
        return _unique(joined, _UNIQUE[path[0]]) if len(path) == 1 and path[0] in _UNIQUE else joined
    return copy.deepcopy(other)


def merge_files(documents: list[dict[str, Any]]) -> dict[str, Any]:
    """Merge canonical compose documents in order (the first is the base)."""
    merged: dict[str, Any] = {}
    for document in documents:
        for section, value in document.items():
            if section == "services" and isinstance(value, dict):
                services = merged.setdefault("services", {})
                for name, service in value.items():
                    service = service or {}
                    services[name] = _merge_service(services[name], service, ()) if name in services else service
            elif isinstance(value, dict) and isinstance(merged.get(section), dict):
                merged[section] = _merge_service(merged[section], value, ("_top", section))
            else:
                merged[section] = copy.deepcopy(value)
    return merged
