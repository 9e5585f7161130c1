"""A Service's task-level settings (``service_task``: logging, generic resources, pids, tmpfs options):
the Engine stores any value and fails (or never schedules) the task later, so what a task would meet
is refused at validate, at its place, with the fix; Compose's forms are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.kinds.service import Service
from reconciler.manifests.loading import load_manifests
from reconciler.render.service_spec import service_spec
from tests.unit.validation_helpers import SERVICE_WEB, check_service_problem, write


@pytest.mark.parametrize(
    ("fields", "row", "column", "field", "fragment"),
    [
        ("logging: {driver: local, options: {tag: x}}", 7, 38, "spec.logging.options.tag", "use compress, max-file"),
        ("logging: {driver: json-file, options: {max-size: 10 megs}}", 7, 42, "spec.logging.options.max-size",
         "not a size such as 10m"),
        ("logging: {driver: json-file, options: {max-file: 3}}", 7, 42, "spec.logging.options.max-file",
         "max-file above 1 needs max-size"),
        ("logging: {driver: json-file, options: {compress: maybe}}", 7, 42, "spec.logging.options.compress",
         "not true or false"),
        ("logging: {driver: Bad Driver}", 7, 13, "spec.logging.driver", "does not match the pattern"),
        ("resources: {limits: {pids: 0}}", 7, 24, "spec.resources.limits.pids", "at least 1"),
        ("resources: {reservations: {genericResources: [{kind: gpu, value: 0}]}}", 7, 61,
         "spec.resources.reservations.genericResources[0].value", "at least 1"),
        ("resources: {reservations: {genericResources: [{kind: gpu, value: GPU-1}]}}", 7, 61,
         "spec.resources.reservations.genericResources[0].value", "a task can only reserve a number of a kind"),
        ("mounts: [{tmpfs: {size: 64Q}, target: /t}]", 7, 21, "spec.mounts[0].tmpfs.size", "invalid memory size"),
        ("mounts: [{tmpfs: {mode: '1999'}, target: /t}]", 7, 21, "spec.mounts[0].tmpfs.mode", "not an octal file mode"),
        ("mounts: [{tmpfs: 3, target: /t}]", 7, 13, "spec.mounts[0].tmpfs", "expected true or false"),
    ],
)  # fmt: skip
def test_a_value_the_task_would_meet_is_refused_at_its_place(
    tmp_path: Path, fields: str, row: int, column: int, field: str, fragment: str
) -> None:
    check_service_problem(tmp_path, f"  {fields}\n", row, column, field, fragment)


def test_compose_forms_compile_to_the_engine_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        "s.yaml",
        SERVICE_WEB
        + "  logging: {driver: json-file, options: {max-size: 10m, max-file: 3, compress: true}}\n"
        + "  resources:\n    reservations:\n"
        + "      genericResources: [{discrete_resource_spec: {kind: gpu, value: 2}}]\n"
        + "  mounts: [{tmpfs: {size: 64M, mode: '1777'}, target: /tmp}, {tmpfs: true, target: /run}]\n",
    )
    manifests = load_manifests(tmp_path)
    [service] = manifests.of_kind(Service)
    task = service_spec(service, manifests)["TaskTemplate"]
    assert task["LogDriver"] == {
        "Name": "json-file",
        "Options": {"compress": "true", "max-file": "3", "max-size": "10m"},
    }
    assert task["Resources"] == {
        "Reservations": {"GenericResources": [{"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}}]}
    }
    assert task["ContainerSpec"]["Mounts"] == [
        {"Type": "tmpfs", "Target": "/tmp", "ReadOnly": False, "TmpfsOptions": {"SizeBytes": 64 << 20, "Mode": 0o1777}},
        {"Type": "tmpfs", "Target": "/run", "ReadOnly": False},
    ]
