"""``python -m tests.lab down`` leaves nothing behind on the host (issue 16).

A lab of this test's own, in its own folder, is started, given a bridge network with a container that
publishes a port on 127.0.0.1 (a ``br-`` bridge, a veth, NAT rules, a docker-proxy) and an overlay
network with a service (a ``vx-`` device, the ingress sandbox), then taken down; the host's links,
mounts, iptables and ip6tables chains and rules, and processes are compared with a snapshot taken
before ``up``. Two labs on one host share docker0, the iptables chains and the ``/srlab`` cgroup, so
this runs only when no other dockerd runs: the ``own_lab`` marker puts it first in a session, before
the session's lab starts (as in CI); next to a running lab it is skipped with the reason. Beside a
shared lab it was run in fresh pid, network and mount namespaces (``unshare --pid --fork --mount-proc
--net --mount``, with sysfs mounted anew so ``/sys/class/net`` is that namespace's): it passes, and with
the link and ip6tables clean-up of ``down()`` turned off it fails.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from tests.lab import Lab
from tests.lab.host import _alive, _argv, _cgroup_pids, _comm, _iptables_rules, _links, _pids, _read
from tests.lab.images import ensure_busybox_image

pytestmark = [pytest.mark.lab, pytest.mark.own_lab]

#: Processes a lab runs: none may be left.
LAB_PROGRAMS = frozenset({"dockerd", "containerd", "containerd-shim", "containerd-shim-runc-v2", "docker-proxy"})


def _mount_points() -> set[str]:
    return {line.split()[1] for line in (_read("/proc/self/mounts") or "").splitlines() if len(line.split()) > 1}


def _rules() -> set[str]:
    return {
        f"{tool} {table}: {rule}"
        for tool in ("iptables", "ip6tables")
        for table in ("filter", "nat", "raw", "mangle")
        for rule in _iptables_rules(table, tool)
    }


def _lab_processes(root: Path) -> list[str]:
    found = []
    for pid in _pids():
        if not _alive(pid):  # a zombie runs nothing (where no init reaps it at once, e.g. in a pid namespace)
            continue
        argv = _argv(pid)
        if _comm(pid) in LAB_PROGRAMS or any(str(root) in arg for arg in argv):
            found.append(f"{pid}: {' '.join(argv)[:160]}")
    return found


def _snapshot(root: Path) -> dict[str, Any]:
    return {"links": set(_links()), "mounts": _mount_points(), "rules": _rules(), "processes": _lab_processes(root)}


@pytest.mark.engine_agnostic  # a check of the harness itself
def test_lab_down_leaves_no_interface_mount_rule_or_process(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root")
    others = [pid for pid in _pids() if _comm(pid) == "dockerd"]
    if others or _cgroup_pids():
        pytest.skip(
            f"another dockerd runs on this host (pids {others}) or the /srlab cgroup is in use: a second lab "
            "would share docker0, the iptables chains and the cgroup with it, so this check needs a host of its own"
        )
    root = Path(f"/var/tmp/srlab-downcheck-{os.getpid()}")
    lab = Lab(root)
    lab.ensure_installed()  # on a fresh host this installs iptables: its default policies are no lab's
    before = _snapshot(root)
    try:
        lab.up()
        client = lab.client()
        busybox = ensure_busybox_image(lab.env())
        client.networks.create("downcheck-bridge", driver="bridge")
        client.networks.create("downcheck-overlay", driver="overlay", attachable=True)
        client.containers.run(busybox, ["sleep", "600"], detach=True, name="downcheck",
                              network="downcheck-bridge", ports={"80/tcp": ("127.0.0.1", None)})  # fmt: skip
        client.services.create(busybox, ["sleep", "600"], name="downcheck", networks=["downcheck-overlay"])
        deadline = time.monotonic() + 60
        while not any(t["Status"]["State"] == "running" for t in client.api.tasks(filters={"service": "downcheck"})):
            assert time.monotonic() < deadline, "the service's task did not start"
            time.sleep(0.5)
        during = _snapshot(root)
        assert during["links"] - before["links"], "the lab made no link: nothing was checked"
        client.close()
    finally:
        lab.down()
    after = _snapshot(root)
    assert not root.exists()
    assert sorted(after["links"] - before["links"]) == []
    assert sorted(after["mounts"] - before["mounts"]) == []
    assert sorted(after["rules"] - before["rules"]) == []
    assert after["processes"] == before["processes"] == []
