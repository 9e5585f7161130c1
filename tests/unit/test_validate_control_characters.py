"""Every string a manifest holds is matched whole: a value with a trailing newline, a NUL or any other
control character is refused with its file, line and field, for every string field of every kind.

Issue 14 found about 22 fields whose pattern ended in ``$`` and was applied with ``re.match``, which
also matches before a final ``\\n``: the newline reached ``keepalived.conf`` and live Traefik rules.

How: ``FULL`` is a valid manifest set that sets every string field of every kind. The slots of a
document (string values, and keys of free-form mappings such as labels) are found by walking the
pydantic model's annotations beside the data, so no field is listed here by hand; a coverage test
walks the models alone and fails when a new string field is missing from ``FULL``. Each slot is then
fed control characters (all of them at the end, a sample elsewhere) and the load must fail with a
problem in that document's file whose field path leads to the slot.
"""

from __future__ import annotations

import copy
import ipaddress
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, JsonValue

from reconciler import API_VERSION
from reconciler.manifests.errors import ManifestError, dotted
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.registry import KINDS

Path_ = tuple[str | int, ...]

# Unicode's control characters (category Cc): C0, DEL and C1.
CONTROL = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]
# Fields whose value is content, not a name, path or pattern: newlines are what they are for.
CONTENT_FIELDS = {("spec", "data")}  # Config.spec.data: the config file itself


# Fields a kind declares but refuses whatever their value: a VirtualIP belongs to no namespace.
REFUSED_FIELDS = {"VirtualIP": {("metadata", "namespace")}}


def doc(kind: str, name: str, spec: dict[str, Any], namespace: str | None = "shop") -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name, "labels": {"team": "web"}, "annotations": {"note": "kept"}}
    if namespace is not None and kind != "VirtualIP":
        metadata["namespace"] = namespace
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": spec}


FULL: list[dict[str, Any]] = [
    doc(
        "Network",
        "front",
        {
            "driver": "overlay",
            "labels": {"tier": "front"},
            "ipam": {"subnet": "10.20.0.0/16", "gateway": "10.20.0.1", "ipRange": "10.20.1.0/24"},
        },
    ),
    doc("Network", "back", {}),
    doc(
        "Volume",
        "data",
        {
            "nfs": {
                "server": "nfs.example.org",
                "path": "/srv/data",
                "version": "4.1",
                "options": ["soft", "timeo=600"],
            },
            "labels": {"kept": "yes"},
        },
    ),
    doc("Volume", "cache", {"driver": "local", "driverOptions": {"type": "tmpfs"}}),
    doc("Config", "site", {"file": "files/site.conf", "template": "golang", "labels": {"role": "site"}}),
    doc("Config", "inline", {"data": "a = 1\n"}),
    doc("Secret", "pw", {"file": "files/pw", "labels": {"role": "vrrp"}}),
    doc(
        "Service",
        "web",
        {
            "image": "registry.example.org:5000/web:1.2@sha256:" + "a" * 64,
            "command": ["/bin/web"],
            "args": ["--port", "80"],
            "env": {"MODE": "prod"},
            "mode": "replicated",
            "replicas": 2,
            "networks": ["front", {"name": "back", "aliases": ["www"]}],
            "mounts": [
                {"volume": "data", "target": "/data"},
                {"bind": "/var/run/docker.sock", "target": "/sock"},
                {"tmpfs": True, "target": "/tmp"},
                {"tmpfs": {"size": "64M", "mode": "1777"}, "target": "/scratch"},
            ],
            "configs": [{"name": "site", "target": "/etc/site.conf", "uid": "0", "gid": "0", "mode": "0440"}],
            "secrets": [{"name": "pw", "target": "pw", "uid": "1", "gid": "1", "mode": "0400"}],
            "placement": {
                "constraints": ["node.role == manager"],
                "preferences": [{"spread": "node.labels.zone"}],
                "platforms": [{"architecture": "amd64", "os": "linux"}],
            },
            "resources": {
                "limits": {"cpus": "0.5", "memory": "512M"},
                "reservations": {"cpus": "0.25", "memory": "64Mi", "genericResources": [{"kind": "gpu", "value": 1}]},
            },
            "healthcheck": {"test": ["CMD", "true"], "interval": "30s", "timeout": "5s", "startPeriod": "1m"},
            "updateConfig": {"delay": "5s", "failureAction": "rollback", "monitor": "10s", "order": "start-first"},
            "rollbackConfig": {"delay": "1s", "failureAction": "pause", "monitor": "5s", "order": "stop-first"},
            "restartPolicy": {"condition": "on-failure", "delay": "5s", "window": "1m"},
            "ports": [{"target": 80, "published": 8080, "protocol": "tcp", "mode": "host"}],
            "labels": {"com.example.team": "web"},
            "containerLabels": {"com.example.role": "frontend"},
            "user": "www-data:www-data",
            "workdir": "/srv",
            "hostname": "{{.Node.Hostname}}-web",
            "capAdd": ["NET_ADMIN"],
            "capDrop": ["CAP_MKNOD"],
            "stopGracePeriod": "20s",
            "endpointMode": "dnsrr",
            "ulimits": {"nofile": {"soft": 1024, "hard": 2048}},
            "sysctls": {"net.core.somaxconn": "1024"},
            "stopSignal": "SIGQUIT",
            "extraHosts": ["db.local:10.0.0.5"],
            "dns": {"nameservers": ["10.0.0.53"], "search": ["svc.local"], "options": ["ndots:2"]},
            "groupAdd": ["2000"],
            "isolation": "default",
            "logging": {"driver": "json-file", "options": {"max-size": "10m"}},
            "dependsOn": ["Service/db"],
        },
    ),
    doc("Service", "db", {"image": "mariadb:11", "mode": "global"}),
    doc(
        "Middleware",
        "hsts",
        {
            "type": "headers",
            "options": {
                "stsSeconds": "31536000",
                "customResponseHeaders": {"X-Frame-Options": "DENY"},
                "accessControlAllowMethods": ["GET", "POST"],
            },
        },
    ),
    doc(
        "Route",
        "web",
        {
            "service": "web",
            "port": 80,
            "hosts": ["www.example.org"],
            "pathPrefix": "/blog",
            "entryPoints": ["websecure"],
            "tls": {"certResolver": "letsencrypt", "options": "modern"},
            "middlewares": ["hsts", "auth@file"],
            "network": "front",
        },
    ),
    doc(
        "VirtualIP",
        "vip",
        {
            "addresses": ["192.168.1.250/24"],
            "interface": "eth0",
            "routerId": 51,
            "priorities": {"node1": 150},
            "password": {"secret": "shop_pw"},
            "unicastPeers": ["192.168.1.11"],
            "checks": [
                {"name": "ping", "type": "http", "host": "127.0.0.1", "port": 8082, "path": "/ping"},
                {"name": "script", "type": "script", "command": ["/usr/local/bin/check", "--fast"]},
            ],
            "image": "swarm-reconciler/keepalived:0.1",
            "placement": ["node.labels.vip == yes"],
        },
    ),
]
FILES = {"files/site.conf": "listen {{.Service.Name}}\n", "files/pw": "secret"}


# --------------------------------------------------------------------- walking models beside data

_STRING_LIKE = (str, ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network,
                ipaddress.IPv6Network, ipaddress.IPv4Interface, ipaddress.IPv6Interface)  # fmt: skip
ANY = "*"  # an abstract path part: anything below (JSON values)
ITEM = "[]"
KEY = "{key}"
VALUE = "{value}"


def union_branches(annotation: Any) -> list[Any]:
    """The alternatives of an annotation, with ``Annotated`` and ``X | None`` taken apart."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return union_branches(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [b for arg in typing.get_args(annotation) for b in union_branches(arg)]
    return [annotation]


def _is_json(annotation: Any) -> bool:
    return annotation is JsonValue or getattr(annotation, "__name__", "") == "JsonValue"


def _takes_string(annotation: Any) -> bool:
    if typing.get_origin(annotation) is typing.Literal:
        return any(isinstance(arg, str) for arg in typing.get_args(annotation))
    return isinstance(annotation, type) and issubclass(annotation, _STRING_LIKE)


def model_slots(annotation: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Abstract paths of every place a string goes in ``annotation`` (a model, a list of models, ...)."""
    for branch in union_branches(annotation):
        origin = typing.get_origin(branch)
        if _is_json(branch):
            yield (*path, ANY)
        elif _takes_string(branch):
            yield path
        elif isinstance(branch, type) and issubclass(branch, BaseModel):
            for name, info in branch.model_fields.items():
                yield from model_slots(info.annotation, (*path, info.alias or name))
        elif origin is list:
            yield from model_slots(typing.get_args(branch)[0], (*path, ITEM))
        elif origin is dict:
            key, value = typing.get_args(branch)
            if any(_takes_string(k) for k in union_branches(key)):
                yield (*path, KEY)
            yield from model_slots(value, (*path, VALUE))


def data_slots(
    annotation: Any, data: Any, path: Path_ = (), shape: tuple[str, ...] = ()
) -> Iterator[tuple[Path_, tuple[str, ...], bool]]:
    """(data path, abstract path, is a mapping key) of every string in ``data``, a value of ``annotation``.
    Any string counts, even where the model takes another type (a file mode "0440" is parsed to int)."""
    branches = union_branches(annotation)
    if isinstance(data, str):
        yield path, shape, False
    elif any(_is_json(b) for b in branches):
        if isinstance(data, dict):
            for key, value in data.items():
                yield (*path, key), (*shape, ANY), True
                yield from data_slots(JsonValue, value, (*path, key), (*shape, ANY))
        elif isinstance(data, list):
            for index, value in enumerate(data):
                yield from data_slots(JsonValue, value, (*path, index), (*shape, ANY))
    elif isinstance(data, dict):
        for branch in branches:
            if isinstance(branch, type) and issubclass(branch, BaseModel):
                by_alias = {(info.alias or name): info for name, info in branch.model_fields.items()}
                for key, value in data.items():
                    yield from data_slots(by_alias[key].annotation, value, (*path, key), (*shape, key))
                return
            if typing.get_origin(branch) is dict:
                value_type = typing.get_args(branch)[1]
                for key, value in data.items():
                    yield (*path, key), (*shape, KEY), True
                    yield from data_slots(value_type, value, (*path, key), (*shape, VALUE))
                return
        raise AssertionError(f"no mapping type at {path} in {annotation}")
    elif isinstance(data, list):
        item = next(typing.get_args(b)[0] for b in branches if typing.get_origin(b) is list)
        for index, value in enumerate(data):
            yield from data_slots(item, value, (*path, index), (*shape, ITEM))


def _json_shape(shape: tuple[str, ...]) -> tuple[str, ...]:
    return shape[: shape.index(ANY) + 1] if ANY in shape else shape


SLOTS = [
    (index, path, is_key)
    for index, document in enumerate(FULL)
    for path, shape, is_key in data_slots(KINDS[document["kind"]], document)
    if shape not in CONTENT_FIELDS
]


# ------------------------------------------------------------------------------------ loading


def mutate(document: dict[str, Any], path: Path_, is_key: bool, change: Any) -> dict[str, Any]:
    """A copy of ``document`` with the string at ``path`` (a key when ``is_key``) replaced by ``change(it)``."""
    out = copy.deepcopy(document)
    parent: Any = out
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if is_key:
        parent[change(last)] = parent.pop(last)
    else:
        parent[last] = change(parent[last])
    return out


def write_set(folder: Path, documents: list[dict[str, Any]]) -> list[Path]:
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    files = []
    for index, document in enumerate(documents):
        file = folder / f"m{index:02d}.yaml"
        # safe_dump writes control characters as double-quoted escapes ("\n", "\0", "\x85").
        file.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=False, width=1 << 16))
        files.append(file)
    return files


def assert_refused_at(folder: Path, index: int, path: Path_, is_key: bool, change: Any) -> None:
    documents = list(FULL)
    documents[index] = mutate(FULL[index], path, is_key, change)
    files = write_set(folder, documents)
    mutated = (*path[:-1], change(path[-1])) if is_key else path
    wanted = {dotted(mutated[:end]) for end in range(1, len(mutated) + 1)}
    with pytest.raises(ManifestError) as caught:
        load_manifests(folder)
    found = [p for p in caught.value.problems if p.position.file == str(files[index])]
    assert any(p.field_path in wanted and p.position.line >= 1 for p in found), (
        f"{dotted(mutated)} of {FULL[index]['kind']}: {[str(p) for p in caught.value.problems]}"
    )


# ------------------------------------------------------------------------------------ the tests


def test_the_full_set_is_valid(tmp_path: Path) -> None:
    write_set(tmp_path, FULL)
    assert len(load_manifests(tmp_path)) == len(FULL)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_full_set_sets_every_string_field(kind: str) -> None:
    declared = {_json_shape(s) for s in model_slots(KINDS[kind])}
    covered = {
        _json_shape(shape)
        for document in FULL
        if document["kind"] == kind
        for _, shape, _ in data_slots(KINDS[kind], document)
    }
    assert declared - covered <= CONTENT_FIELDS | REFUSED_FIELDS.get(kind, set()), (
        f"add these {kind} fields to FULL: {sorted(declared - covered)}"
    )


@pytest.mark.parametrize(
    ("index", "path", "is_key"), SLOTS, ids=[f"{FULL[i]['kind']}-{dotted(p)}" for i, p, _ in SLOTS]
)
@pytest.mark.parametrize("tail", ["\n", "\x00"], ids=["newline", "nul"])
def test_a_trailing_newline_or_nul_is_refused(tmp_path: Path, index: int, path: Path_, is_key: bool, tail: str) -> None:
    assert_refused_at(tmp_path, index, path, is_key, lambda text: text + tail)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    slot=st.sampled_from(SLOTS),
    control=st.sampled_from(CONTROL),
    where=st.sampled_from(["end", "start", "middle"]),
)
def test_any_control_character_anywhere_is_refused(
    tmp_path_factory: pytest.TempPathFactory, slot: tuple[int, Path_, bool], control: str, where: str
) -> None:
    def change(text: str) -> str:
        if where == "end":
            return text + control
        if where == "start":
            return control + text
        return text[: len(text) // 2] + control + text[len(text) // 2 :]

    index, path, is_key = slot
    assert_refused_at(tmp_path_factory.mktemp("set"), index, path, is_key, change)
