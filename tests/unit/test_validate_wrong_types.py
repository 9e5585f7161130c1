"""A value of the wrong type anywhere in any kind reads in plain words with what to write instead.

A newcomer fed wrong types to ``validate`` and got pydantic's own words ("Input should be a valid
list", "Input is not a valid IPv4 address or Input is not a valid IPv6 address") and field paths with
pydantic's branch tags in them (``spec.ipam.gateway.lax-or-strict[...]``, ``limits.cpus.float``).
Here every place of every kind's complete document (``FULL`` of the control-character test, which sets
every field) gets in turn a string, a list, a mapping, a number, a boolean and null, and every mapping
an unknown field; every problem must be positioned, name a field that is in the document, and use none
of pydantic's phrases. Then the wording of each error class is pinned.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from tests.unit.test_validate_control_characters import FULL
from tests.unit.validation_helpers import (
    ROUTE,
    check,
    check_service_problem,
    only_problem,
    problem_lines,
    run,
    vip,
    write,
)

WRONG: list[Any] = ["x", [1], {"a": 1}, 3, True, None]
# pydantic's own words and the type tags of its union branches
RAW = re.compile(r"Input should|Input is|Field required|valid (string|list|dictionary|integer|number|boolean)|"
                 r"NoneType|lax-or-strict|function-|\bint\b|\bfloat\b|\bstr\b|\bdict\b")  # fmt: skip


def places(data: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    if path:
        yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from places(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from places(value, (*path, index))


def changed(document: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(document)
    parent: Any = out
    for part in path[:-1]:
        parent = parent[part]
    if value is ADD:
        parent[path[-1]]["colourScheme"] = 1
    else:
        parent[path[-1]] = value
    return out


ADD = object()  # add an unknown field to the mapping at the path


def one_per_kind() -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for document in FULL:
        seen.setdefault(document["kind"], document)
    return list(seen.values())


@pytest.mark.parametrize("document", one_per_kind(), ids=lambda d: d["kind"])
def test_every_wrong_type_anywhere_reads_plainly(tmp_path: Path, document: dict[str, Any]) -> None:
    checked = 0
    for index, path in enumerate(places(document)):
        for value in [*WRONG, ADD]:
            target = _value_at(document, path)
            if value is ADD and not isinstance(target, dict):
                continue
            folder = tmp_path / f"{index}-{WRONG.index(value) if value is not ADD else 'add'}"
            folder.mkdir()
            (folder / "a.yaml").write_text(yaml.safe_dump(changed(document, path, value), sort_keys=False))
            try:
                load_manifests(folder)
                continue  # some values are right there too (a number for a string of digits, ...)
            except ManifestError as caught:
                problems = caught.problems
            for problem in problems:
                line = str(problem)
                assert not RAW.search(problem.message), line
                assert not RAW.search(problem.field_path), line
                assert problem.position.line >= 1 and problem.position.column >= 1, line
                checked += 1
    assert checked > 50


def _value_at(data: Any, path: tuple[str | int, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


class TestWording:
    """file:line:column, the field, and what to write, per error class."""

    @pytest.mark.parametrize(
        ("field", "text", "column", "message"),
        [
            ("args", "  args: --verbose\n", 3,
             "expected a list ([a, b] or one `- item` per line), not a string ('--verbose')"),
            ("env", "  env: [A=b]\n", 3, "expected a mapping (key: value lines or {key: value}), not a list"),
            ("user", "  user: 1000\n", 3, "expected a string, not a number (1000): write it in quotes, '1000'"),
            ("workdir", "  workdir: [/srv]\n", 3, "expected a string, not a list"),
            ("replicas", "  replicas: two\n", 3, "expected a whole number, not a string ('two')"),
            ("mode", "  mode: replicas\n", 3, "'replicas' is not allowed here: write 'replicated', 'global', 'replicated-job' or 'global-job'"),
            ("resources.limits.cpus", "  resources: {limits: {cpus: [1]}}\n", 24,
             "expected a string or a number, not a list"),
            ("healthcheck", "  healthcheck: 3\n", 3, "expected a mapping of fields, not a number (3)"),
            # quoting 30 would not make it a duration: the type's example says what to write
            ("stopGracePeriod", "  stopGracePeriod: 30\n", 3, "expected a string, not a number (30): write it like '30s'"),
        ],
    )  # fmt: skip
    def test_service_fields(self, tmp_path: Path, field: str, text: str, column: int, message: str) -> None:
        check_service_problem(tmp_path, text, 7, column, f"spec.{field}", message)

    def test_an_ip_field_gives_an_example_and_no_branch_tags(self, tmp_path: Path) -> None:
        text = "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: n}\nspec:\n"
        f = write(tmp_path, "a.yaml", text + "  ipam: {subnet: 10.0.0.0/24, gateway: {a: 1}}\n")
        check(
            only_problem(run(tmp_path)),
            f,
            5,
            31,
            "Network/n",
            "spec.ipam.gateway",
            "expected an IP address such as 10.0.0.1 or fd00::1, not a mapping",
        )
        f = write(tmp_path, "a.yaml", text + "  ipam: {subnet: ten}\n")
        check(only_problem(run(tmp_path)), f, 5, 10, "Network/n", "spec.ipam.subnet",
              "'ten' is not a network such as 10.20.0.0/16")  # fmt: skip

    def test_a_route_tls_union_reads_as_one_expectation(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", ROUTE + "  tls: yes please\n")
        check(only_problem(run(tmp_path)), f, 8, 3, "Route/web", "spec.tls",
              "expected true or false or a mapping of fields, not a string ('yes please')")  # fmt: skip


NETWORK = "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: n}\nspec:\n"
VOLUME = "apiVersion: reconciler.swarm/v1alpha1\nkind: Volume\nmetadata: {name: v}\nspec:\n"


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        # before: pydantic made 0.0.0.3/32 of it, and the problem read "gateway ... is outside subnet 0.0.0.3/32"
        (NETWORK + "  ipam: {subnet: 3, gateway: 10.20.0.1}\n", "spec.ipam.subnet",
         "expected a network such as 10.20.0.0/16, not a number (3)"),
        (NETWORK + "  ipam: {subnet: 10.20.0.0/16, gateway: true}\n", "spec.ipam.gateway",
         "expected an IP address such as 10.0.0.1 or fd00::1, not a boolean (true)"),
        (NETWORK + "  ipam: {subnet: 10.20.0.0/16, ipRange: 5}\n", "spec.ipam.ipRange",
         "expected a network such as 10.20.0.0/16, not a number (5)"),
        # before: the NFS mount options read addr=0.0.0.3
        (VOLUME + "  nfs: {server: 3, path: /srv}\n", "spec.nfs.server",
         "expected a host name or an IP address such as nas.example.org, not a number (3)"),
    ],
)  # fmt: skip
def test_a_number_is_no_ip_address(tmp_path: Path, text: str, field: str, message: str) -> None:
    write(tmp_path, "a.yaml", text)
    (line,) = [line for line in problem_lines(run(tmp_path)) if f": {field}: " in line]
    assert line.endswith(f": {field}: {message}"), line


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ("", "spec.addresses[0]", "expected an address with its prefix length such as 10.0.0.5/24, not a number (3)"),
        ("  unicastPeers: [1]\n", "spec.unicastPeers[0]",
         "expected an IP address such as 10.0.0.1 or fd00::1, not a number (1)"),
        ("  checks: [{name: web, type: tcp, port: 80, host: 3}]\n", "spec.checks[0].host",
         "expected a host name or an IP address such as 127.0.0.1, not a number (3)"),
    ],
)  # fmt: skip
def test_a_number_is_no_virtual_ip_address(tmp_path: Path, extra: str, field: str, message: str) -> None:
    address = "3" if field == "spec.addresses[0]" else "10.0.0.5/24"
    write(tmp_path, "a.yaml", vip("v", 51, address) + extra)
    (line,) = [line for line in problem_lines(run(tmp_path)) if f": {field}: " in line]
    assert line.endswith(f": {field}: {message}"), line
