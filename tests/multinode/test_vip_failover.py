"""VirtualIP on the three-node lab: the floating address sits on exactly one node, the one with the
highest priority; it moves when that node's keepalived stops (gracefully or by SIGKILL) and when the
node is drained; a priority change rolls through the nodes; bad values are refused before anything
is deployed. Addresses are on the lab's own subnet, inside the nodes' network namespaces."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli.app import cli
from tests.integration.conftest import cleanup_instance
from tests.lab import Lab
from tests.lab.deploy_images import ensure_keepalived_image
from tests.lab.multinode import MultiNodeLab

VIP = "10.213.7.250"
IFACE = "eth0"  # every node's lab interface has this name inside its namespace
ADVERT_S = 1
INSTANCE = "vip-test"


@pytest.fixture(scope="module")
def keepalived(lab: Lab, multinode: MultiNodeLab) -> str:
    image = ensure_keepalived_image(lab.env())
    multinode.load_image(image, source=lab)
    return image


def holders(multinode: MultiNodeLab) -> list[str]:
    found = []
    for node in multinode.node_names:
        out = subprocess.run(["ip", "-n", f"srlab-{node}", "-4", "-o", "addr", "show", "dev", IFACE],
                             capture_output=True, text=True, timeout=5).stdout  # fmt: skip
        if f" {VIP}/" in out:
            found.append(node)
    return found


def wait_holder(multinode: MultiNodeLab, node: str, timeout: float, alone: bool = True) -> float:
    """Seconds until ``node`` holds the address (alone, unless ``alone`` is false)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        found = holders(multinode)
        if found == [node] or (not alone and node in found):
            return time.monotonic() - began
        time.sleep(0.05)
    raise AssertionError(f"{VIP} not on {node}{' alone' if alone else ''} within {timeout}s: {holders(multinode)}")


def manifests(folder: Path, image: str, priorities: dict[str, int], **spec: Any) -> None:
    (folder / "pw").write_text("lab4vip\n")
    docs = [
        {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "Secret", "metadata": {"name": "vrrp"}, "spec": {"file": "pw"}},
        {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "VirtualIP", "metadata": {"name": "floating"}, "spec": {
            "addresses": [f"{VIP}/24"], "interface": IFACE, "routerId": 51, "advertInterval": ADVERT_S,
            "priorities": priorities, "password": {"secret": "vrrp"}, "image": image, **spec}},
    ]  # fmt: skip
    (folder / "vip.yaml").write_text(yaml.safe_dump_all(docs, sort_keys=False))


def reconciler(multinode: MultiNodeLab, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--docker-host", multinode.base_url("node1"), "--instance", INSTANCE, *args])
    return result.exit_code, result.stdout + result.stderr


@pytest.fixture
def deployed(multinode: MultiNodeLab, keepalived: str, tmp_path: Path) -> Iterator[Path]:
    manifests(tmp_path, keepalived, {"node1": 150, "node2": 100, "node3": 50})
    code, out = reconciler(multinode, "apply", "--yes", "--timeout", "30", str(tmp_path))
    assert code == 0, out
    wait_holder(multinode, "node1", timeout=60)
    try:
        yield tmp_path
    finally:
        cleanup_instance(multinode.client("node1"), INSTANCE)
        deadline = time.monotonic() + 30
        while holders(multinode) and time.monotonic() < deadline:
            time.sleep(0.2)


def keepalived_container(multinode: MultiNodeLab, node: str) -> str:
    client = multinode.client(node)
    [container] = client.containers.list(filters={"label": "com.docker.swarm.service.name=vip-floating"})
    return str(container.id)


def test_the_address_sits_on_the_highest_priority_node_only(multinode: MultiNodeLab, deployed: Path) -> None:
    for _ in range(10):
        assert holders(multinode) == ["node1"]
        time.sleep(0.2)
    code, out = reconciler(multinode, "diff", str(deployed))
    assert code == 0, out


def test_failover_graceful_and_hard(multinode: MultiNodeLab, deployed: Path) -> None:
    bound = 3 * ADVERT_S + (256 - 100) / 256  # VRRP: 3 x advert interval plus the skew of the next node
    client = multinode.client("node1")
    began = time.monotonic()
    client.containers.get(keepalived_container(multinode, "node1")).stop(timeout=5)  # SIGTERM: priority 0 advert
    wait_holder(multinode, "node2", timeout=10)
    graceful = time.monotonic() - began  # from the stop request, including the container's shutdown
    wait_holder(multinode, "node1", timeout=60)  # Swarm restarts the task; preemption takes it back
    began = time.monotonic()
    client.containers.get(keepalived_container(multinode, "node1")).kill()  # SIGKILL: silence
    # A killed keepalived cannot take its address off the interface: node1 keeps a stale copy until
    # Swarm restarts its task (2 s delay plus the start, longer on a loaded machine), so what VRRP
    # bounds is node2 taking the address over, not node2 being alone.
    wait_holder(multinode, "node2", timeout=15, alone=False)
    hard = time.monotonic() - began
    print(f"\nfailover: graceful {graceful:.2f} s, SIGKILL {hard:.2f} s (VRRP bound {bound:.2f} s)")
    assert hard < bound + 1.5
    wait_holder(multinode, "node1", timeout=60)


def test_draining_the_node_moves_the_address(multinode: MultiNodeLab, deployed: Path) -> None:
    client = multinode.client("node1")
    node = client.api.inspect_node("node1")
    spec = {**node["Spec"], "Availability": "drain"}
    client.api.update_node(node["ID"], node["Version"]["Index"], spec)
    try:
        moved = wait_holder(multinode, "node2", timeout=30)
    finally:
        node = client.api.inspect_node("node1")
        client.api.update_node(node["ID"], node["Version"]["Index"], {**node["Spec"], "Availability": "active"})
    print(f"\ndrain node1: the address moved in {moved:.2f} s")
    wait_holder(multinode, "node1", timeout=60)


def test_a_priority_change_rolls_out_and_says_how_long_the_address_was_lost(
    multinode: MultiNodeLab, keepalived: str, deployed: Path
) -> None:
    manifests(deployed, keepalived, {"node1": 50, "node2": 150, "node3": 100})
    code, out = reconciler(multinode, "apply", "--yes", str(deployed))
    assert code == 0, out
    lost, last, began = 0.0, time.monotonic(), time.monotonic()
    while time.monotonic() - began < 60:
        now = time.monotonic()
        current = holders(multinode)
        if not current:
            lost += now - last
        last = now
        if current == ["node2"]:
            service = multinode.client("node1").api.inspect_service("vip-floating")
            if (service.get("UpdateStatus") or {}).get("State") in (None, "completed"):
                break
        time.sleep(0.05)
    assert holders(multinode) == ["node2"]
    print(f"\npriority change rolled out in {time.monotonic() - began:.1f} s; the address was held by no node "
          f"for {lost:.2f} s in all")  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("interface", "eth0\nglobal_defs {"),
        ("routerId", 300),
        ("checks", [{"name": "s", "type": "script", "command": ["/bin/true", "}"]}]),
    ],
)
def test_bad_values_are_refused_and_nothing_is_deployed(
    multinode: MultiNodeLab, keepalived: str, tmp_path: Path, field: str, value: object
) -> None:
    manifests(tmp_path, keepalived, {"node1": 150}, **{field: value})
    code, out = reconciler(multinode, "apply", "--yes", str(tmp_path))
    assert code == 2 and "vip.yaml:" in out and field in out
    assert not multinode.client("node1").api.services(filters={"name": "vip-floating"})
