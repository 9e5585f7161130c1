"""A Service's task-level settings (logging, generic resources, a pids limit, tmpfs size and mode):
created as stated, planned noop after apply, and a service the docker CLI made with the same
settings is adopted by a label-only update (no task restarts), on the in-memory swarm and the lab."""

from __future__ import annotations

from typing import Any

from tests.contract.conftest import ContractSwarm
from tests.contract.test_converge import assert_adopted_without_restart, assert_noop_forever

TASK: dict[str, Any] = {
    "logging": {"driver": "json-file", "options": {"max-size": "1m", "max-file": 2}},
    "resources": {"limits": {"pids": 64}},
    "mounts": [{"tmpfs": {"size": "16M", "mode": "1777"}, "target": "/scratch"}, {"tmpfs": True, "target": "/run"}],
}

# What `docker service create --log-driver json-file --log-opt max-size=1m --log-opt max-file=2
# --limit-pids 64 --mount type=tmpfs,dst=/scratch,tmpfs-size=16777216,tmpfs-mode=1777
# --mount type=tmpfs,dst=/run` sends (docker/cli cli/command/service/opts.go, opts/mount.go).
CLI_TASK: dict[str, Any] = {
    "LogDriver": {"Name": "json-file", "Options": {"max-file": "2", "max-size": "1m"}},
    "Resources": {"Limits": {"Pids": 64}, "Reservations": {}},
}
CLI_MOUNTS = [
    {"Type": "tmpfs", "Target": "/run"},
    {"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 16 << 20, "Mode": 0o1777}},
]


def test_task_settings_are_created_as_stated_and_plan_noop(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Service", "task", cs.sleeper(**TASK)))
    cs.converge()
    live = cs.service(cs.name("task"))
    assert live is not None
    task = live["Spec"]["TaskTemplate"]
    assert task["LogDriver"] == {"Name": "json-file", "Options": {"max-file": "2", "max-size": "1m"}}
    assert task["Resources"] == {"Limits": {"Pids": 64}}
    [scratch] = [m for m in task["ContainerSpec"]["Mounts"] if m["Target"] == "/scratch"]
    assert scratch["TmpfsOptions"] == {"SizeBytes": 16 << 20, "Mode": 0o1777}
    assert cs.task_ids("task")  # the lab's task runs with all of it
    assert_noop_forever(cs)


def test_generic_resources_are_reserved_and_plan_noop(cs: ContractSwarm) -> None:
    reservations = {
        "genericResources": [{"kind": "gpu", "value": 2}, {"discrete_resource_spec": {"kind": "fpga", "value": 1}}]
    }
    cs.write(cs.doc("Service", "gpu", {"image": cs.image, "replicas": 0, "resources": {"reservations": reservations}}))
    cs.converge()
    live = cs.service(cs.name("gpu"))
    assert live is not None
    assert live["Spec"]["TaskTemplate"]["Resources"]["Reservations"]["GenericResources"] == [
        {"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}},
        {"DiscreteResourceSpec": {"Kind": "fpga", "Value": 1}},
    ]
    assert_noop_forever(cs)


def test_a_changed_log_option_is_an_update(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Service", "task", {"image": cs.image, "replicas": 0, **TASK}))
    cs.converge()
    logging = {"driver": "json-file", "options": {"max-size": "2m"}}
    cs.write(cs.doc("Service", "task", {"image": cs.image, "replicas": 0, **TASK, "logging": logging}))
    cs.converge()
    live = cs.service(cs.name("task"))
    assert live is not None
    assert live["Spec"]["TaskTemplate"]["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "2m"}}
    assert_noop_forever(cs)


def test_a_cli_made_service_with_task_settings_is_adopted_without_a_restart(cs: ContractSwarm) -> None:
    container = {"Image": cs.image, "Args": ["sleep", "3600"], "StopGracePeriod": 1_000_000_000, "Mounts": CLI_MOUNTS}
    assert_adopted_without_restart(cs, "task", {"ContainerSpec": container, **CLI_TASK}, cs.sleeper(**TASK))
