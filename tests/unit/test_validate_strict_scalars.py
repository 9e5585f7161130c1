"""A number or a flag of another YAML type is refused, in every int, float and bool field of every kind.

pydantic's lax mode turned ``replicas: true`` into 1, ``replicas: 2.0`` into 2, ``port: "80"`` into 80
and ``preempt: 1`` or ``attachable: "yes"`` into True; Kubernetes' structural schemas and the Swarm API
refuse them, and an operator expects an error with the fix. The fields use ``types.WholeNumber``,
``Number`` and ``Flag`` (strict); a float field takes an integer (``maxFailureRatio: 1``), and the fields
that take a string on purpose (file modes "0440", memory sizes, cpus, generic resource counts) still do.

How: the scalar slots (abstract paths where an int, a float or a bool goes) are found by walking every
kind's model, so no field is listed by hand; a coverage test fails when one is missing from the
documents (``FULL`` of the control-character test plus ``EXTRA`` below). Each slot then gets a boolean,
a float with a fraction, a whole float, a quoted number and null, and the load must fail at that
field with file:line:column and the wording of ``error_text``.
"""

from __future__ import annotations

import copy
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, BeforeValidator

from reconciler.manifests.error_text import field_example
from reconciler.manifests.errors import ManifestError, ManifestProblem, dotted
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.registry import KINDS
from tests.unit.test_validate_control_characters import FILES, FULL, ITEM, VALUE, doc, union_branches
from tests.unit.validation_helpers import check, only_problem, run, write

Path_ = tuple[str | int, ...]

# Documents that set the scalar fields FULL leaves out.
EXTRA: list[dict[str, Any]] = [
    doc("Network", "flags", {"attachable": True, "internal": False, "encrypted": True}),
    doc("Network", "outside", {"external": True}),
    doc("Volume", "outside", {"external": True}),
    doc("Config", "outside", {"external": True}),
    doc("Secret", "outside", {"external": True}),
    doc(
        "Service",
        "numbers",
        {
            "image": "nginx:1",
            "replicas": 2,
            "readOnly": True,
            "init": True,
            "tty": False,
            "stdinOpen": False,
            "mounts": [{"volume": "data", "target": "/data", "readOnly": True}, {"anonymous": True, "target": "/a"}],
            "placement": {"maxReplicasPerNode": 2},
            "resources": {"limits": {"pids": 100}},
            "healthcheck": {"test": ["CMD", "true"], "retries": 3},
            "updateConfig": {"parallelism": 2, "maxFailureRatio": 0.5},
            "rollbackConfig": {"parallelism": 1, "maxFailureRatio": 1},
            "restartPolicy": {"maxAttempts": 3},
            "configs": [{"name": "site", "target": "/etc/site.conf", "mode": 288}],
        },
    ),
    doc("Service", "job", {"image": "nginx:1", "mode": "replicated-job", "maxConcurrent": 2, "totalCompletions": 4}),
    doc("Route", "plain", {"service": "web", "port": 80, "tls": True, "priority": 10, "network": "front"}),
    doc("Route", "rest", {"service": "web", "port": 81, "catchAll": True, "network": "front"}),
    doc(
        "VirtualIP",
        "vip2",
        {
            "addresses": ["192.168.2.250/24"],
            "interface": "eth0",
            "routerId": 52,
            "advertInterval": 2,
            "defaultPriority": 90,
            "preempt": False,
            "checks": [
                {
                    "name": "web",
                    "type": "http",
                    "port": 80,
                    "expectStatus": 204,
                    "interval": 3,
                    "timeout": 2,
                    "weight": -20,
                    "fall": 3,
                    "rise": 2,
                },
            ],
        },
    ),
]
DOCUMENTS = FULL + EXTRA
SCALARS = {bool: "flag", int: "whole", float: "number"}


def _scalar(annotation: Any) -> str | None:
    found = [SCALARS[b] for b in union_branches(annotation) if b in SCALARS]
    return found[0] if found else None


def model_slots(annotation: Any, shape: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Abstract paths of every place an int, a float or a bool goes in ``annotation``."""
    if _scalar(annotation):
        yield shape
    for branch in union_branches(annotation):
        origin = typing.get_origin(branch)
        if isinstance(branch, type) and issubclass(branch, BaseModel):
            for name, info in branch.model_fields.items():
                yield from model_slots(info.annotation, (*shape, info.alias or name))
        elif origin is list:
            yield from model_slots(typing.get_args(branch)[0], (*shape, ITEM))
        elif origin is dict:
            yield from model_slots(typing.get_args(branch)[1], (*shape, VALUE))


def data_slots(
    annotation: Any, data: Any, path: Path_ = (), shape: tuple[str, ...] = ()
) -> Iterator[tuple[Path_, tuple[str, ...], Any]]:
    """(data path, abstract path, annotation) of every scalar of ``data`` that the model types as
    an int, a float or a bool (a value given as a string there counts too: "0440")."""
    if not isinstance(data, dict | list) and _scalar(annotation):
        yield path, shape, annotation
        return
    for branch in union_branches(annotation):
        if isinstance(data, dict) and isinstance(branch, type) and issubclass(branch, BaseModel):
            by_alias = {(info.alias or name): info for name, info in branch.model_fields.items()}
            if set(data) <= set(by_alias):
                for key, value in data.items():
                    yield from data_slots(by_alias[key].rebuild_annotation(), value, (*path, key), (*shape, key))
                return
        elif isinstance(data, dict) and typing.get_origin(branch) is dict:
            for key, value in data.items():
                yield from data_slots(typing.get_args(branch)[1], value, (*path, key), (*shape, VALUE))
            return
        elif isinstance(data, list) and typing.get_origin(branch) is list:
            for index, value in enumerate(data):
                yield from data_slots(typing.get_args(branch)[0], value, (*path, index), (*shape, ITEM))
            return


SLOTS = [
    (index, path, annotation)
    for index, document in enumerate(DOCUMENTS)
    for path, _, annotation in data_slots(KINDS[document["kind"]], document)
]


def _takes_text(annotation: Any) -> bool:
    """The field converts a string itself: a str branch, or a BeforeValidator ("0440", "2")."""
    if str in union_branches(annotation):
        return True
    if typing.get_origin(annotation) is typing.Annotated:
        inner, *metadata = typing.get_args(annotation)
        return any(isinstance(m, BeforeValidator) for m in metadata) or _takes_text(inner)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_takes_text(arg) for arg in typing.get_args(annotation))
    return False


# (value fed, what the message says it is, the fix at its end) per kind of field; "" when no fix.
FED: dict[str, list[tuple[Any, str, str]]] = {
    "whole": [
        (True, "a boolean (true)", ": write a number such as 1"),
        (2.5, "a number with a fraction (2.5)", ": write a whole number such as 2"),
        (2.0, "a number (2.0)", ": write 2"),
        ("2", "a string ('2')", ": write it without quotes, 2"),
        (None, "null", ""),
    ],
    "number": [
        (True, "a boolean (true)", ": write a number such as 1"),
        ("0.5", "a string ('0.5')", ": write it without quotes, 0.5"),
        (None, "null", ""),
    ],
    "flag": [
        (1, "a number (1)", ": write true"),
        (2.5, "a number (2.5)", ": write true or false"),
        (0, "a number (0)", ": write false"),
        ("true", "a string ('true')", ": write true without quotes"),
        ("off", "a string ('off')", ": write false without quotes"),
        (None, "null", ""),
    ],
}
EXPECTED = {"whole": "a whole number", "number": "a number", "flag": "true or false"}


def changed(document: dict[str, Any], path: Path_, value: Any) -> dict[str, Any]:
    out = copy.deepcopy(document)
    parent: Any = out
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return out


def load_with(folder: Path, index: int, value: Any, path: Path_) -> tuple[Path, list[ManifestProblem]]:
    for name, text in FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    files = []
    for number, document in enumerate(DOCUMENTS):
        if number == index:
            document = changed(document, path, value)
        files.append(folder / f"m{number:02d}.yaml")
        files[-1].write_text(yaml.safe_dump(document, sort_keys=False))
    try:
        load_manifests(folder)
    except ManifestError as caught:
        return files[index], [p for p in caught.problems if p.position.file == str(files[index])]
    return files[index], []


def test_the_documents_are_valid(tmp_path: Path) -> None:
    _, problems = load_with(tmp_path, -1, None, ())
    assert problems == []


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_the_documents_set_every_scalar_field(kind: str) -> None:
    declared = set(model_slots(KINDS[kind]))
    covered = {shape for d in DOCUMENTS if d["kind"] == kind for _, shape, _ in data_slots(KINDS[kind], d)}
    assert declared - covered == set(), f"add these {kind} fields to EXTRA: {sorted(declared - covered)}"


@pytest.mark.parametrize(
    ("index", "path", "annotation"), SLOTS, ids=[f"{DOCUMENTS[i]['kind']}-{dotted(p)}" for i, p, _ in SLOTS]
)
def test_a_value_of_another_type_is_refused_with_the_fix(
    tmp_path: Path, index: int, path: Path_, annotation: Any
) -> None:
    scalar = _scalar(annotation)
    assert scalar is not None
    optional = type(None) in union_branches(annotation)
    for number, (value, said, fix) in enumerate(FED[scalar]):
        folder = tmp_path / str(number)
        folder.mkdir()
        _, problems = load_with(folder, index, value, path)
        here = [p for p in problems if p.field_path == dotted(path)]
        if (value is None and optional) or (isinstance(value, str) and scalar != "flag" and _takes_text(annotation)):
            # null leaves it unset; "0440", "512M", "2" are read (2 bytes of memory is then too little)
            assert not [p for p in here if p.message.startswith("expected ")], [str(p) for p in here]
            continue
        assert len(here) == 1, (value, [str(p) for p in problems])
        problem = here[0]
        assert problem.position.line >= 1 and problem.position.column >= 1, str(problem)
        assert problem.message.startswith("expected "), str(problem)
        assert EXPECTED[scalar] in problem.message.split(", not ")[0], str(problem)
        example = field_example(KINDS[DOCUMENTS[index]["kind"]], path)
        if example is not None and str in union_branches(annotation) and not isinstance(value, str):
            fix = f": write it like '{example}'"  # memory: true is not 1 byte, it wants a size like 512M
        assert problem.message.endswith(f", not {said}{fix}"), str(problem)


class TestWording:
    """file:line:column, the field, and the whole message, for the cases an operator meets."""

    SERVICE = "apiVersion: reconciler.swarm/v1alpha1\nkind: Service\nmetadata: {name: web}\nspec:\n  image: nginx\n"

    @pytest.mark.parametrize(
        ("text", "column", "field", "message"),
        [
            ("  replicas: true\n", 3, "spec.replicas",
             "expected a whole number, not a boolean (true): write a number such as 1"),
            ("  replicas: 2.0\n", 3, "spec.replicas", "expected a whole number, not a number (2.0): write 2"),
            ("  ports: [{target: '80'}]\n", 12, "spec.ports[0].target",
             "expected a whole number, not a string ('80'): write it without quotes, 80"),
            ("  readOnly: 'yes'\n", 3, "spec.readOnly",
             "expected true or false, not a string ('yes'): write true without quotes"),
            ("  updateConfig: {maxFailureRatio: '0.5'}\n", 18, "spec.updateConfig.maxFailureRatio",
             "expected a number, not a string ('0.5'): write it without quotes, 0.5"),
            ("  resources: {limits: {memory: true}}\n", 24, "spec.resources.limits.memory",
             "expected a string or a whole number, not a boolean (true): write it like '512M'"),
        ],
    )  # fmt: skip
    def test_service(self, tmp_path: Path, text: str, column: int, field: str, message: str) -> None:
        f = write(tmp_path, "a.yaml", self.SERVICE + text)
        check(only_problem(run(tmp_path)), f, 6, column, "Service/web", field, message)

    def test_a_float_field_takes_an_integer_and_strings_stay_where_documented(self, tmp_path: Path) -> None:
        text = (
            "  updateConfig: {maxFailureRatio: 1}\n"
            "  resources: {limits: {cpus: 2, memory: '64M'}, reservations: {genericResources: [{kind: gpu, value: '2'}]}}\n"
            "  ulimits: {nofile: 1024}\n"
        )
        write(tmp_path, "a.yaml", self.SERVICE + text)
        (loaded,) = load_manifests(tmp_path)
        spec: Any = loaded.spec
        assert spec.update_config.max_failure_ratio == 1.0
        assert spec.resources.reservations.generic_resources[0].value == 2
        assert spec.ulimits["nofile"].soft == 1024
