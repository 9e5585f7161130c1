"""Create, then noop forever after: for every kind, and for a service with every field set."""

from __future__ import annotations

import json

from reconciler.core.labels import APPLIED_HASH, MANAGED_BY, REQUESTED_IMAGE
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once, reconcile_once
from reconciler.state.plan import Action
from tests.integration.conftest import Workspace


def every_kind(ws: Workspace, busybox: str) -> list[dict[str, object]]:
    (ws.folder / "secret.txt").write_text("s3cret\n")
    return [
        ws.doc("Network", "front", {"attachable": True, "labels": {"tier": "front"}}),
        ws.doc("Network", "back", {"internal": True, "encrypted": True, "ipam": {"subnet": "10.231.7.0/24", "gateway": "10.231.7.1"}}),
        ws.doc("Volume", "data", {"nfs": {"server": "192.0.2.10", "path": "/srv/data", "version": "4.2", "options": ["rw", "hard"]}}),
        ws.doc("Volume", "scratch", {"driver": "local", "driverOptions": {"type": "tmpfs", "device": "tmpfs"}}),
        ws.doc("Config", "conf", {"data": "key = value\n", "labels": {"a": "b"}}),
        ws.doc("Secret", "pw", {"file": "secret.txt"}),
        ws.doc("Middleware", "hsts", {"type": "headers", "options": {"stsSeconds": 60}}),
        ws.doc(
            "Service",
            "full",
            {
                "image": busybox,
                "command": ["/bin/sh", "-c"],
                "args": ["sleep 3600"],
                "env": {"B": "2", "A": "1"},
                "mode": "replicated",
                "replicas": 0,
                "networks": [ws.name("front"), {"name": ws.name("back"), "aliases": ["full-be", "alias2"]}],
                "mounts": [
                    {"volume": ws.name("data"), "target": "/data"},
                    {"volume": ws.name("scratch"), "target": "/scratch", "readOnly": True},
                    {"bind": "/tmp", "target": "/host-tmp", "readOnly": True},
                    {"tmpfs": True, "target": "/run/x"},
                ],
                "configs": [{"name": ws.name("conf"), "target": "/etc/app.conf", "mode": "0440"}],
                "secrets": [{"name": ws.name("pw"), "uid": "1000", "gid": "1000", "mode": "0400"}],
                "placement": {
                    "constraints": ["node.role == manager", "node.platform.os == linux"],
                    "preferences": [{"spread": "node.labels.zone"}],
                    "maxReplicasPerNode": 2,
                },
                "resources": {"limits": {"cpus": 0.5, "memory": "64M"}, "reservations": {"cpus": "0.1", "memory": "8Mi"}},
                "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "timeout": "2s", "retries": 2, "startPeriod": "1s"},
                "updateConfig": {"parallelism": 2, "delay": "1s", "failureAction": "rollback", "monitor": "2s", "maxFailureRatio": 0.5, "order": "start-first"},
                "rollbackConfig": {"parallelism": 1, "order": "stop-first"},
                "restartPolicy": {"condition": "on-failure", "delay": "2s", "maxAttempts": 3, "window": "30s"},
                "ports": [{"target": 80, "published": 18180, "mode": "host"}, {"target": 53, "published": 18153, "protocol": "udp", "mode": "host"}],
                "labels": {"tier": "web"},
                "containerLabels": {"c": "d"},
                "user": "1000:1000",
                "workdir": "/tmp",
                "hostname": "full-host",
                "capAdd": ["NET_ADMIN"],
                "capDrop": ["MKNOD"],
                "stopGracePeriod": "3s",
            },
        ),
        ws.doc("Service", "global", {"image": busybox, "mode": "global", "args": ["sleep", "3600"], "networks": [ws.name("front")]}),
        ws.doc("Route", "full", {"service": ws.name("full"), "port": 80, "hosts": ["full.test"], "middlewares": [ws.name("hsts")],
                                 "tls": {"certResolver": "le"}, "entryPoints": ["websecure"], "network": ws.name("front")}),
    ]  # fmt: skip


def test_every_kind_is_created_then_plans_noop_forever(ws: Workspace, busybox: str) -> None:
    ws.write(*every_kind(ws, busybox))
    desired = ws.desired()
    swarm = ws.swarm()
    _, first = plan_once(swarm, desired, PlanOptions())
    assert {c.action for c in first.changes} == {Action.CREATE}
    # 2 networks, a config, a secret, 2 services; volumes, routes and middlewares ride in the services
    assert len(first.changes) == 6

    result = reconcile_once(swarm, desired, dependency_timeout=30)
    assert result.converged, result.applied.outcomes
    for _ in range(3):
        _, again = plan_once(swarm, ws.desired(), PlanOptions())
        assert again.in_sync, [
            (c.key, c.reason, [d.field for d in c.diff]) for c in again.changes if c.action is not Action.NOOP
        ]


def test_what_the_swarm_holds_after_a_create(ws: Workspace, busybox: str) -> None:
    ws.write(*every_kind(ws, busybox))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    spec = ws.service("full")["Spec"]
    labels = spec["Labels"]
    assert labels[MANAGED_BY] == ws.instance and labels[REQUESTED_IMAGE] == busybox and APPLIED_HASH in labels
    assert labels[f"traefik.http.routers.{ws.name('full')}.rule"] == "Host(`full.test`)"
    assert labels[f"traefik.http.middlewares.{ws.name('hsts')}.headers.stsSeconds"] == "60"
    mounts = {m["Target"]: m for m in spec["TaskTemplate"]["ContainerSpec"]["Mounts"]}
    nfs = mounts["/data"]["VolumeOptions"]["DriverConfig"]
    assert nfs == {
        "Name": "local",
        "Options": {"type": "nfs", "o": "addr=192.0.2.10,nfsvers=4.2,rw,hard", "device": ":/srv/data"},
    }
    assert mounts["/data"]["Source"].startswith(ws.name("data") + "-")
    network = ws.client.api.inspect_network(ws.name("back"))
    assert network["Internal"] is True and "encrypted" in network["Options"]
    assert network["IPAM"]["Config"] == [{"Subnet": "10.231.7.0/24", "Gateway": "10.231.7.1"}]
    configs = ws.client.api.configs(filters={"label": f"{MANAGED_BY}={ws.instance}"})
    assert [c["Spec"]["Name"] for c in configs] == [spec["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"]]
    diff = ws.cli("-o", "json", "diff", str(ws.folder))
    assert diff.exit_code == 0, diff.stdout
    assert json.loads(diff.stdout)["in_sync"] is True


def test_diff_on_a_converged_swarm_says_nothing_differs(ws: Workspace, busybox: str) -> None:
    ws.write(
        ws.doc("Network", "net", {}),
        ws.doc("Service", "one", {"image": busybox, "replicas": 0, "networks": [ws.name("net")]}),
    )
    before = ws.cli("diff", str(ws.folder))
    assert before.exit_code == 1 and "create" in before.stdout
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    after = ws.cli("diff", str(ws.folder))
    assert after.exit_code == 0
    assert "in sync" in after.stdout
    status = ws.cli("status", str(ws.folder))
    assert status.exit_code == 0 and f"Service/{ws.name('one')}" in status.stdout
