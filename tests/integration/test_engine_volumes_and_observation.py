"""Volumes ride in service mounts with option-hashed names; configs and secrets deleted by hand come
back; one observation costs the same few requests however many objects there are."""

from __future__ import annotations

import subprocess

from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once
from reconciler.state.plan import Action
from tests.integration.conftest import Workspace


def nfs_service(ws: Workspace, busybox: str, options: list[str]) -> list[dict[str, object]]:
    return [
        ws.doc("Volume", "data", {"nfs": {"server": "192.0.2.10", "path": "/srv/data", "options": options}}),
        ws.doc(
            "Service",
            "app",
            {"image": busybox, "replicas": 0, "mounts": [{"volume": ws.name("data"), "target": "/data"}]},
        ),
    ]


def test_changed_nfs_options_move_the_service_to_a_new_volume_name(ws: Workspace, busybox: str) -> None:
    ws.write(*nfs_service(ws, busybox, ["rw"]))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    [before] = ws.service("app")["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]

    ws.write(*nfs_service(ws, busybox, ["rw", "soft", "timeo=30"]))
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 1 and "spec.mounts[0].source" in diff.stdout
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    [after] = ws.service("app")["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]
    assert after["Source"] != before["Source"] and after["Source"].startswith(ws.name("data") + "-")
    assert after["VolumeOptions"]["DriverConfig"]["Options"]["o"] == "addr=192.0.2.10,nfsvers=4.1,rw,soft,timeo=30"
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_a_stale_volume_of_the_same_name_is_a_conflict_not_silently_mounted(ws: Workspace, busybox: str) -> None:
    ws.write(*nfs_service(ws, busybox, ["rw"]))
    [name] = [name for name, _ in ws.desired().volumes.values()]
    ws.client.api.create_volume(name, driver="local")  # made by hand, without the NFS options
    try:
        result = ws.cli("apply", "--yes", str(ws.folder))
        assert result.exit_code == 1
        assert "ignoring the manifest's options" in result.stdout
        assert f"skipped Service/{ws.name('app')}" in " ".join(result.stdout.split())
        assert ws.client.api.services(filters={"name": ws.name("app")}) == []
        adopted = ws.cli("apply", "--yes", "--adopt", str(ws.folder))
        assert adopted.exit_code == 0, adopted.stdout
    finally:
        ws.client.api.remove_service(ws.name("app")) if ws.client.api.services(
            filters={"name": ws.name("app")}
        ) else None
        ws.client.api.remove_volume(name, force=True)


def test_configs_and_secrets_deleted_by_hand_are_recreated(ws: Workspace) -> None:
    (ws.folder / "pw.txt").write_text("pw\n")
    ws.write(ws.doc("Config", "conf", {"data": "x\n"}), ws.doc("Secret", "pw", {"file": "pw.txt"}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    env = ws.lab.env()
    _, plan = plan_once(ws.swarm(), ws.desired(), PlanOptions())  # a secret's keyed name: from a plan
    for change in plan.changes:
        if change.kind in ("Config", "Secret"):
            subprocess.run(
                ["docker", change.kind.lower(), "rm", change.swarm_name], env=env, check=True, capture_output=True
            )
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 1 and diff.stdout.count("create: not in the swarm") == 2
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_one_observation_costs_seven_requests_whatever_the_object_count(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Network", "net", {}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    swarm = ws.swarm()
    small, _ = plan_once(swarm, ws.desired(), PlanOptions())

    docs = [ws.doc("Network", "net", {})]
    docs += [ws.doc("Config", f"c{i}", {"data": f"{i}\n"}) for i in range(15)]
    docs += [
        ws.doc("Service", f"s{i}", {"image": busybox, "replicas": 0, "networks": [ws.name("net")]}) for i in range(15)
    ]
    ws.write(*docs)
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    before = swarm.requests
    large, plan = plan_once(swarm, ws.desired(), PlanOptions())
    assert plan.in_sync and {c.action for c in plan.changes} == {Action.NOOP}
    # One list per kind, and the tasks (for health).
    assert small.requests == large.requests == swarm.requests - before == 7
