"""What the lab's swarm holds after a create of every kind, through the CLI (labels, NFS options, network
options, configs), and diff on a converged swarm. That every kind then plans noop forever is the
contract suite's (``tests/contract/test_converge.py``, on the in-memory swarm and on the lab)."""

from __future__ import annotations

import json

from reconciler.core.labels import APPLIED_HASH, MANAGED_BY, REQUESTED_IMAGE
from tests.integration.conftest import Workspace


def every_kind(ws: Workspace, busybox: str) -> list[dict[str, object]]:
    """One object of each kind, with the fields the test below reads back (the service with every
    field is the contract suite's ``full_service``)."""
    (ws.folder / "secret.txt").write_text("s3cret\n")
    return [
        ws.doc("Network", "front", {"attachable": True, "labels": {"tier": "front"}}),
        ws.doc("Network", "back", {"internal": True, "encrypted": True, "ipam": {"subnet": "10.231.7.0/24", "gateway": "10.231.7.1"}}),
        ws.doc("Volume", "data", {"nfs": {"server": "192.0.2.10", "path": "/srv/data", "version": "4.2", "options": ["rw", "hard"]}}),
        ws.doc("Config", "conf", {"data": "key = value\n", "labels": {"a": "b"}}),
        ws.doc("Secret", "pw", {"file": "secret.txt"}),
        ws.doc("Middleware", "hsts", {"type": "headers", "options": {"stsSeconds": 60}}),
        ws.doc("Service", "full", {
            "image": busybox, "args": ["sleep", "3600"], "replicas": 0,
            "networks": [ws.name("front"), {"name": ws.name("back"), "aliases": ["full-be"]}],
            "mounts": [{"volume": ws.name("data"), "target": "/data"}],
            "configs": [{"name": ws.name("conf"), "target": "/etc/app.conf", "mode": "0440"}],
            "secrets": [{"name": ws.name("pw")}],
        }),
        ws.doc("Route", "full", {"service": ws.name("full"), "port": 80, "hosts": ["full.test"], "middlewares": [ws.name("hsts")],
                                 "tls": {"certResolver": "le"}, "entryPoints": ["websecure"], "network": ws.name("front")}),
    ]  # fmt: skip


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
    made = [c["Spec"]["Name"] for c in configs if c["Spec"]["Name"].startswith(ws.prefix)]  # not the name-key config
    assert made == [spec["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"]]
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
