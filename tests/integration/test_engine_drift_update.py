"""Drift made behind the reconciler's back is shown by diff and repaired by apply; manifest changes
update only what differs, and a label-only change never restarts tasks."""

from __future__ import annotations

import subprocess

from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once, reconcile_once
from reconciler.state.plan import Action
from tests.integration.conftest import Workspace


def docker(ws: Workspace, *args: str) -> None:
    subprocess.run(["docker", *args], env=ws.lab.env(), check=True, capture_output=True, timeout=60)


def web(ws: Workspace, busybox: str, **spec: object) -> dict[str, object]:
    base = {
        "image": busybox,
        "args": ["sleep", "3600"],
        "replicas": 1,
        "networks": [ws.name("net")],
        "labels": {"tier": "web"},
    }
    return ws.doc("Service", "web", {**base, **spec})


def test_hand_made_service_changes_are_drift_and_get_repaired(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Network", "net", {}), web(ws, busybox))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    docker(
        ws,
        "service",
        "update",
        "--detach",
        "--label-add",
        "hand=made",
        "--env-add",
        "X=1",
        "--replicas",
        "2",
        ws.name("web"),
    )

    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 1
    assert "DRIFT" in diff.stdout
    # In manifest field names (kubectl diff's way), list entries one by one.
    assert 'spec.labels[hand]: "made" → (none)' in diff.stdout
    assert "spec.replicas: 2 → 1" in diff.stdout
    assert "spec.env" in diff.stdout and "X=1" in diff.stdout

    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    spec = ws.service("web")["Spec"]
    assert "hand" not in spec["Labels"] and spec["Mode"]["Replicated"]["Replicas"] == 1
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_deleted_network_is_recreated(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Network", "net", {"attachable": True}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    docker(ws, "network", "rm", ws.name("net"))
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 1 and f"+ Network/{ws.name('net')}" in diff.stdout
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.client.api.inspect_network(ws.name("net"))["Attachable"] is True


def test_label_only_change_keeps_every_task(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Network", "net", {}), web(ws, busybox, replicas=2))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    before = ws.task_ids("web", running=2)
    assert len(before) == 2

    ws.write(ws.doc("Network", "net", {}), web(ws, busybox, replicas=2, labels={"tier": "web", "team": "blue"}))
    ws.write(
        ws.doc(
            "Route", "web", {"service": ws.name("web"), "port": 80, "hosts": ["web.test"], "network": ws.name("net")}
        ),
        file="route.yaml",
    )
    _, plan = plan_once(ws.swarm(), ws.desired(), PlanOptions())
    [change] = [c for c in plan.changes if c.action is Action.UPDATE]
    assert all(d.path[0] == "Labels" for d in change.diff)
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.service("web")["Spec"]["Labels"]["team"] == "blue"
    assert ws.task_ids("web", running=2) == before


def test_a_changed_task_field_rolls_the_tasks(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Network", "net", {}), web(ws, busybox))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    before = ws.task_ids("web")
    ws.write(ws.doc("Network", "net", {}), web(ws, busybox, env={"COLOR": "green"}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    env = ws.service("web")["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"]
    assert env == ["COLOR=green"]
    after = ws.task_ids("web", timeout=30)
    assert after and after != before


def test_config_rotation_keeps_the_version_a_rollback_needs_and_removes_older_ones(ws: Workspace, busybox: str) -> None:
    def write(content: str) -> None:
        ws.write(
            ws.doc("Config", "conf", {"data": content}),
            ws.doc(
                "Service",
                "app",
                {"image": busybox, "replicas": 0, "configs": [{"name": ws.name("conf"), "target": "/etc/app.conf"}]},
            ),
        )

    write("one\n")
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    old = ws.service("app")["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"]
    write("two\n")
    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 0, result.stdout
    new = ws.service("app")["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"]
    assert new != old and new.startswith(ws.name("conf") + "-")
    names = {c["Spec"]["Name"] for c in ws.client.api.configs(filters={"name": ws.name("conf")})}
    assert names == {old, new}  # the previous spec names the old one: Swarm's rollback needs it
    assert "kept" in result.stdout and "can roll back" in result.stdout
    assert ws.cli("diff", str(ws.folder)).exit_code == 0
    assert ws.cli("status", str(ws.folder)).exit_code == 0  # kept for rollback is in sync

    write("three\n")
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    newest = ws.service("app")["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"]
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0  # nothing can roll back to "one" now
    names = {c["Spec"]["Name"] for c in ws.client.api.configs(filters={"name": ws.name("conf")})}
    assert names == {new, newest}


def test_old_config_still_used_by_a_hand_made_service_is_kept(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Config", "conf", {"data": "one\n"}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    [old] = ws.client.api.configs(filters={"name": ws.name("conf")})
    docker(ws, "service", "create", "--detach", "--name", ws.name("byhand"), "--replicas", "0",
           "--config", f"source={old['Spec']['Name']},target=/c", "--no-resolve-image", busybox)  # fmt: skip
    ws.write(ws.doc("Config", "conf", {"data": "two\n"}))
    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 0, result.stdout
    assert "kept" in result.stdout
    names = {c["Spec"]["Name"] for c in ws.client.api.configs(filters={"name": ws.name("conf")})}
    assert old["Spec"]["Name"] in names and len(names) == 2


def test_unused_network_is_replaced_and_a_used_one_is_blocked(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Network", "net", {"attachable": False}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    ws.write(ws.doc("Network", "net", {"attachable": True}))
    _, plan = plan_once(ws.swarm(), ws.desired(), PlanOptions())
    assert [c.action for c in plan.changes] == [Action.REPLACE]
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.client.api.inspect_network(ws.name("net"))["Attachable"] is True

    ws.write(ws.doc("Network", "net", {"attachable": True}), web(ws, busybox, replicas=0))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    ws.write(ws.doc("Network", "net", {"attachable": False}), web(ws, busybox, replicas=0))
    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 1
    assert "used by" in result.stdout and ws.name("web") in result.stdout
    assert ws.client.api.inspect_network(ws.name("net"))["Attachable"] is True


def test_depends_on_waits_for_running_tasks(ws: Workspace, busybox: str) -> None:
    ws.write(
        ws.doc("Service", "db", {"image": busybox, "args": ["sleep", "3600"], "replicas": 1}),
        ws.doc("Service", "app", {"image": busybox, "replicas": 0, "dependsOn": [f"Service/{ws.name('db')}"]}),
    )
    events: list[str] = []
    result = reconcile_once(
        ws.swarm(), ws.desired(), on_event=lambda e: events.append(type(e).__name__), dependency_timeout=60
    )
    assert result.converged
    assert ws.task_ids("db", timeout=1)  # db was running before app was created
    assert events.index("Waiting") < max(i for i, e in enumerate(events) if e == "ChangeFinished")


def test_depends_on_timeout_skips_the_dependent_and_says_why(ws: Workspace, busybox: str) -> None:
    ws.write(
        ws.doc("Service", "db", {"image": "lab/does-not-exist:1", "replicas": 1}),
        ws.doc("Service", "app", {"image": busybox, "replicas": 0, "dependsOn": [f"Service/{ws.name('db')}"]}),
        ws.doc("Network", "independent", {}),
    )
    result = reconcile_once(ws.swarm(), ws.desired(), dependency_timeout=3)
    statuses = {o.change.key: o.status.value for o in result.applied.outcomes}
    assert statuses[f"Service/{ws.name('app')}"] == "skipped"
    assert statuses[f"Network/{ws.name('independent')}"] == "done"
    [skipped] = [o for o in result.applied.outcomes if o.status.value == "skipped"]
    assert "0 of 1 tasks running" in skipped.message
    assert not result.converged
