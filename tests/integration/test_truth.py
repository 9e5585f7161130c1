"""Telling the truth on a real engine: health beside sync, rollout outcomes, Swarm's own rollback
finding its old config, prune-then-recreate, and updates that restart no task when only labels (or
the engine's own spelling of a spec) differ. Each case was once reported "in sync" or "done" while
the swarm said otherwise, or rewritten in a loop."""

from __future__ import annotations

import json
import subprocess
import time
from typing import Any

from reconciler.engine.events import OutcomeStatus
from reconciler.engine.reconcile import reconcile_once
from tests.integration.conftest import Workspace


def docker(ws: Workspace, *args: str) -> str:
    done = subprocess.run(["docker", *args], env=ws.lab.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def settled_task_ids(ws: Workspace, base: str, timeout: float = 60.0) -> set[str]:
    """The running task IDs once exactly the desired one runs and nothing else is starting."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = ws.client.api.tasks(filters={"service": ws.name(base), "desired-state": "running"})
        if len(tasks) == 1 and tasks[0]["Status"]["State"] == "running":
            return {tasks[0]["ID"]}
        assert time.monotonic() < deadline, tasks
        time.sleep(0.3)


def status(ws: Workspace) -> tuple[int, dict[str, dict[str, Any]]]:
    out = ws.cli("-o", "json", "status", str(ws.folder))
    return out.exit_code, {o["key"]: o for o in json.loads(out.stdout)["objects"]}


def sleeper(ws: Workspace, busybox: str, base: str = "web", **spec: Any) -> dict[str, Any]:
    return ws.doc("Service", base, {"image": busybox, "args": ["sleep", "3600"], "replicas": 1, **spec})


def test_a_running_service_is_healthy_and_status_exits_0(ws: Workspace, busybox: str) -> None:
    ws.write(sleeper(ws, busybox))
    applied = ws.cli("apply", "--yes", str(ws.folder))
    assert applied.exit_code == 0, applied.stdout
    assert "healthy" in applied.stdout
    code, objects = status(ws)
    web = objects[f"Service/{ws.name('web')}"]
    assert (code, web["state"], web["health"]) == (0, "in sync", "Healthy"), web


def test_a_service_no_node_can_run_is_degraded_with_the_engines_reason(ws: Workspace, busybox: str) -> None:
    ws.write(sleeper(ws, busybox, placement={"constraints": ["node.labels.srlab-nowhere == yes"]}))
    applied = ws.cli("apply", "--yes", "--timeout", "60", str(ws.folder))
    assert applied.exit_code == 1, applied.stdout
    assert "ROLLOUT FAILED" in applied.stdout and "no suitable node" in applied.stdout
    code, objects = status(ws)
    web = objects[f"Service/{ws.name('web')}"]
    assert code == 1
    assert web["state"] == "in sync" and web["health"] == "Degraded", web
    assert "0/1 running" in web["health_reason"] and "no suitable node" in web["health_reason"]
    # The same truth in the plan that `diff` prints.
    assert "Degraded" in ws.cli("diff", str(ws.folder)).stdout


def test_a_rolled_back_update_is_a_failed_rollout_and_finds_its_old_config(ws: Workspace, busybox: str) -> None:
    (ws.folder / "mode.txt").write_text("good\n")
    service = sleeper(
        ws, busybox, args=["sh", "-c", "grep -q good /etc/mode && exec sleep 3600"],
        configs=[{"name": ws.name("mode"), "target": "/etc/mode"}],
        updateConfig={"failureAction": "rollback", "monitor": "5s"},
        restartPolicy={"condition": "on-failure", "delay": "1s"},
    )  # fmt: skip
    ws.write(ws.doc("Config", "mode", {"file": "mode.txt"}), service)
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    first = ws.task_ids("web")

    (ws.folder / "mode.txt").write_text("bad\n")  # the new tasks exit 1: Swarm rolls the update back
    applied = ws.cli("apply", "--yes", "--timeout", "90", str(ws.folder))
    assert applied.exit_code == 1, applied.stdout
    assert "ROLLOUT FAILED" in applied.stdout and "rolled the update back" in applied.stdout

    # The restored spec names the old config, which was kept: its new task runs.
    def running_again() -> bool:
        tasks = ws.client.api.tasks(filters={"service": ws.name("web"), "desired-state": "running"})
        return any(t["Status"]["State"] == "running" and t["ID"] not in first for t in tasks)

    deadline = time.monotonic() + 60
    while not running_again():
        assert time.monotonic() < deadline, "the rolled-back service did not run again"
        time.sleep(0.5)
    code, objects = status(ws)
    web = objects[f"Service/{ws.name('web')}"]
    assert code == 1 and web["health"] == "Degraded" and "rolled the update back" in web["health_reason"]
    kept = [o for o in objects.values() if o["state"] == "kept for rollback"]
    assert kept, objects  # the old config version, named by the restored spec


def test_a_label_only_repair_keeps_tasks_when_the_cli_resorted_mounts(ws: Workspace, busybox: str) -> None:
    mounts = [{"tmpfs": True, "target": "/zzz"}, {"tmpfs": True, "target": "/aaa"}]
    ws.write(sleeper(ws, busybox, mounts=mounts, labels={"tier": "web"}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    # By hand, as an operator would: the CLI re-sorts the mounts (and restarts the task itself).
    docker(ws, "service", "update", "--label-rm", "tier", ws.name("web"))
    assert ws.service("web")["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"][0]["Target"] == "/aaa"
    before = settled_task_ids(ws, "web")
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.service("web")["Spec"]["Labels"]["tier"] == "web"
    assert ws.task_ids("web") == before
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_adopting_a_service_made_by_the_cli_restarts_no_task(ws: Workspace, busybox: str) -> None:
    docker(ws, "service", "create", "--detach", "--name", ws.name("web"), "--replicas", "1", busybox, "sleep", "3600")
    before = ws.task_ids("web")
    ws.write(sleeper(ws, busybox))
    adopted = ws.cli("apply", "--yes", "--adopt", str(ws.folder))
    assert adopted.exit_code == 0, adopted.stdout
    assert ws.task_ids("web") == before
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_prune_then_recreate_succeeds(ws: Workspace, busybox: str) -> None:
    net = ws.doc("Network", "net", {"attachable": True})
    keep = ws.doc("Network", "keep", {})
    ws.write(net, keep, sleeper(ws, busybox, networks=[ws.name("net")]))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    ws.write(keep)
    pruned = ws.cli("apply", "--yes", "--prune", str(ws.folder))
    assert pruned.exit_code == 0, pruned.stdout
    ws.write(net, keep, sleeper(ws, busybox, networks=[ws.name("net")]))
    again = ws.cli("apply", "--yes", str(ws.folder))
    assert again.exit_code == 0, again.stdout


def test_no_repeated_writes_for_what_the_engine_respells(ws: Workspace, busybox: str) -> None:
    """ipam without a gateway, zero health-check values: noop after apply, on the real engine."""
    ws.write(
        ws.doc("Network", "net", {"ipam": {"subnet": "10.237.0.0/16"}}),
        ws.doc("Service", "hc", {"image": busybox, "replicas": 0,
                                 "healthcheck": {"test": ["CMD", "true"], "retries": 0, "interval": "0s"}}),
    )  # fmt: skip
    first = reconcile_once(ws.swarm(), ws.desired())
    assert first.converged and not first.not_converging, first
    for _ in range(3):
        again = reconcile_once(ws.swarm(), ws.desired())
        assert [o for o in again.applied.outcomes if o.status is OutcomeStatus.DONE] == []


def test_a_network_the_swarm_cannot_allocate_is_a_failed_change_and_not_healthy(ws: Workspace) -> None:
    # A pool that overlaps another network's (made by hand here) is never allocated: no driver, no IPAM.
    docker(ws, "network", "create", "--driver", "overlay", "--subnet", "10.239.0.0/16", ws.name("wide"))
    ws.write(ws.doc("Network", "inside", {"ipam": {"subnet": "10.239.1.0/24"}}))
    applied = ws.cli("apply", "--yes", str(ws.folder))
    assert applied.exit_code == 1, applied.stdout
    assert "has not allocated it" in applied.stdout
    code, objects = status(ws)
    inside = objects[f"Network/{ws.name('inside')}"]
    assert code == 1 and inside["health"] in ("Progressing", "Degraded"), inside
