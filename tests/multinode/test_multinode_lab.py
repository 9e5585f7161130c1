"""The multi-node lab answers as a real three-manager Docker Swarm, beside the single-node lab.

Every address used here is a lab address (10.213.7.0/24 on the lab's own bridge, or overlay addresses
inside the nodes); the kernel has no IPVS, so services use DNS round robin and host-mode ports.
"""

from __future__ import annotations

import contextlib
import http.client
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import docker
import pytest

from tests.lab import Lab
from tests.lab.images import BUSYBOX_IMAGE, STANDIN_IMAGE, ensure_standin_image
from tests.lab.multinode import HOST_ADDR, MultiNodeLab

T = TypeVar("T")
HOSTNAMES = ["node1", "node2", "node3"]
#: Each task writes its node's hostname (the container hostname template) into the page it serves.
SERVE_HOSTNAME = ["sh", "-c", "hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60.0, every: float = 0.5) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@pytest.fixture
def node1(multinode: MultiNodeLab) -> Iterator[docker.DockerClient]:
    client = multinode.client("node1")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def suffix() -> str:
    return secrets.token_hex(3)


def running_tasks(client: docker.DockerClient, service_id: str) -> list[dict[str, Any]]:
    tasks = client.api.tasks(filters={"service": service_id, "desired-state": "running"})
    return [t for t in tasks if (t.get("Status") or {}).get("State") == "running"]


@contextlib.contextmanager
def service(client: docker.DockerClient, **kwargs: Any) -> Iterator[str]:
    """Create a service (``client.api.create_service`` arguments); remove it, and wait until its tasks are
    gone, on exit."""
    created = client.api.create_service(**kwargs)["ID"]
    try:
        yield str(created)
    finally:
        client.api.remove_service(created)
        wait_for("the service's tasks to go", lambda: not _tasks_left(client, created))


def _tasks_left(client: docker.DockerClient, service_id: str) -> bool:
    try:
        return bool(client.api.tasks(filters={"service": service_id}))
    except docker.errors.NotFound:  # 20.10 answers 404 once the service is gone
        return False


def task_template(**kwargs: Any) -> docker.types.TaskTemplate:
    """lab/busybox:1 serving its node's hostname on :8080 (the hostname is a template), stopped within 1 s."""
    spec = docker.types.ContainerSpec(
        BUSYBOX_IMAGE, command=SERVE_HOSTNAME, hostname="{{.Node.Hostname}}", stop_grace_period=10**9
    )
    return docker.types.TaskTemplate(spec, **kwargs)


# ------------------------------------------------------------------------------------------------ the lab


def test_three_ready_managers_with_their_own_hostnames(multinode: MultiNodeLab, node1: docker.DockerClient) -> None:
    nodes = [n.attrs for n in node1.nodes.list()]
    assert sorted(n["Description"]["Hostname"] for n in nodes) == HOSTNAMES
    for node in nodes:
        assert node["Spec"]["Role"] == "manager"
        assert node["Status"]["State"] == "ready"
        assert node["ManagerStatus"]["Reachability"] == "reachable"
        name = node["Description"]["Hostname"]
        assert node["Status"]["Addr"] == multinode.node_ip(name)
        assert node["ID"] == multinode.node_id(name)
    assert sum(bool(n["ManagerStatus"].get("Leader")) for n in nodes) == 1

    engine_ids = set()
    for name in HOSTNAMES:
        info = multinode.info(name)
        assert info["Name"] == name
        assert info["Swarm"]["ControlAvailable"] is True
        assert info["Swarm"]["NodeAddr"] == multinode.node_ip(name)
        assert info["DockerRootDir"] == f"{multinode.root}/{name}/data"
        engine_ids.add(info["ID"])
    assert len(engine_ids) == 3, "each node has its own engine key"
    assert multinode.host_ip == HOST_ADDR


def test_each_node_has_eth0_on_the_lab_subnet_and_its_own_hostname(multinode: MultiNodeLab) -> None:
    def run(*argv: str) -> str:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10, check=True).stdout

    assert f" {HOST_ADDR}/24 " in run("ip", "-4", "-o", "addr", "show", "dev", "srl-host")
    for name in HOSTNAMES:
        netns = multinode.node_netns(name)
        assert f" {multinode.node_ip(name)}/24 " in run("ip", "-n", netns, "-4", "-o", "addr", "show", "dev", "eth0")
        assert run("ip", "-n", netns, "route", "show", "default").startswith("default via 10.213.7.254 dev eth0")
        assert run(*multinode.nsenter_argv(name), "hostname").strip() == name
    # The bridge namespace routes nothing: node traffic to any other address ends there.
    forward = run("nsenter", "--net=/run/netns/srlab-br", "--", "cat", "/proc/sys/net/ipv4/ip_forward")
    assert forward.strip() == "0"


def test_single_node_lab_runs_beside_it(lab: Lab, multinode: MultiNodeLab) -> None:
    assert lab.is_running()
    # The multi-lab's dockerds live in other network namespaces: the single lab does not count them as
    # foreign (it would refuse to start), and its swarm is still its own single node.
    pids = {multinode.pid(name) for name in HOSTNAMES}
    assert not pids & set(lab._foreign_dockerds())
    assert len(lab.info()["Swarm"].get("RemoteManagers") or []) == 1


def test_second_up_reuses_the_running_lab(multinode: MultiNodeLab) -> None:
    began = time.monotonic()
    again = MultiNodeLab().up()
    assert again.started is False
    assert [again.pid(name) for name in HOSTNAMES] == [multinode.pid(name) for name in HOSTNAMES]
    assert time.monotonic() - began < 10


def test_images_are_on_every_node(lab: Lab, multinode: MultiNodeLab) -> None:
    busybox = {multinode.image_id(name, BUSYBOX_IMAGE) for name in HOSTNAMES}
    assert len(busybox) == 1 and None not in busybox, "lab/busybox:1 is built once and copied: one ID"

    ensure_standin_image(lab.env())
    with contextlib.closing(lab.client()) as single:
        source_id = single.images.get(STANDIN_IMAGE).id
    assert multinode.load_image(STANDIN_IMAGE, source=lab) == source_id
    assert [multinode.image_id(name, STANDIN_IMAGE) for name in HOSTNAMES] == [source_id] * 3
    assert multinode.load_image(STANDIN_IMAGE) == source_id  # present everywhere: nothing is copied


# ------------------------------------------------------------------------------------------- the swarm


def test_global_service_on_an_overlay_runs_one_task_per_node(
    multinode: MultiNodeLab, node1: docker.DockerClient, suffix: str
) -> None:
    network = node1.networks.create(f"mn-overlay-{suffix}", driver="overlay", attachable=True)
    try:
        with service(
            node1,
            task_template=task_template(networks=[{"Target": network.id}]),
            name=f"mn-global-{suffix}",
            mode=docker.types.ServiceMode("global"),
            endpoint_spec=docker.types.EndpointSpec(mode="dnsrr"),  # no IPVS here: no VIP
        ) as service_id:

            def one_per_node() -> list[dict[str, Any]] | None:
                tasks = running_tasks(node1, service_id)
                return tasks if len(tasks) == 3 else None

            tasks = wait_for("a running task on each node", one_per_node)
            node_ids = {multinode.node_id(name): name for name in HOSTNAMES}
            assert sorted(t["NodeID"] for t in tasks) == sorted(node_ids)

            # The overlay's data path (VXLAN between the nodes' namespaces): node1's task fetches the page of
            # every task by its overlay address, and each answers with its own node's hostname.
            by_node = {node_ids[t["NodeID"]]: t for t in tasks}
            container = multinode.client("node1").containers.get(
                by_node["node1"]["Status"]["ContainerStatus"]["ContainerID"]
            )
            for name, task in by_node.items():
                (address,) = [
                    a["Addresses"][0].split("/")[0]
                    for a in task["NetworksAttachments"]
                    if a["Network"]["ID"] == network.id
                ]
                # (busybox wget's own -T timeout crashes with SIGSEGV here; timeout(1) bounds it instead)
                result = container.exec_run(["timeout", "10", "wget", "-q", "-O", "-", f"http://{address}:8080/"])
                assert result.exit_code == 0, result.output
                assert result.output.decode().strip() == name
    finally:
        wait_for("the overlay network to be removable", lambda: _remove_network(network))


def _remove_network(network: Any) -> bool:
    try:
        network.remove()
    except docker.errors.NotFound:
        return True
    except docker.errors.APIError:
        return False
    return True


def _http_get(address: str, port: int) -> str | None:
    conn = http.client.HTTPConnection(address, port, timeout=2)
    try:
        conn.request("GET", "/")
        return conn.getresponse().read().decode().strip()
    except OSError:
        return None
    finally:
        conn.close()


def test_host_mode_port_on_node2_is_reached_from_the_host(
    multinode: MultiNodeLab, node1: docker.DockerClient, suffix: str
) -> None:
    port = 20000 + secrets.randbelow(10000)
    with service(
        node1,
        task_template=task_template(placement=["node.hostname==node2"]),
        name=f"mn-hostport-{suffix}",
        endpoint_spec=docker.types.EndpointSpec(ports={port: (8080, "tcp", "host")}),
    ):
        node2 = multinode.node_ip("node2")
        assert wait_for(f"http://{node2}:{port}/", lambda: _http_get(node2, port)) == "node2"
        # Host mode: the port is open on node2 alone (no routing mesh).
        assert _http_get(multinode.node_ip("node1"), port) is None


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_two_managers_keep_quorum_while_node3_is_down(
    multinode: MultiNodeLab, node1: docker.DockerClient, suffix: str, sig: int
) -> None:
    node3_id = multinode.node_id("node3")
    multinode.stop_node("node3", sig)
    try:
        assert not multinode.ping("node3")
        # Reads and raft writes still work through node1 and node2: 2 of 3 managers are a quorum.
        for name in ("node1", "node2"):
            with contextlib.closing(multinode.client(name)) as client:
                assert client.info()["Swarm"]["ControlAvailable"] is True
                assert len(client.nodes.list()) == 3
                config = client.configs.create(name=f"mn-quorum-{suffix}-{name}", data=b"written without node3")
                config.remove()

        def node3_down() -> bool:
            node: dict[str, Any] = node1.nodes.get(node3_id).attrs
            return (node["Status"]["State"], node["ManagerStatus"]["Reachability"]) == ("down", "unreachable")

        wait_for("node3 reported down and unreachable", node3_down, timeout=90)
    finally:
        multinode.start_node("node3")
    info = multinode.info("node3")
    assert info["Name"] == "node3"
    assert info["Swarm"]["NodeID"] == node3_id, "node3 came back from its data, as the same node"
    assert info["Swarm"]["ControlAvailable"] is True
    node = node1.nodes.get(node3_id).attrs
    assert (node["Status"]["State"], node["ManagerStatus"]["Reachability"]) == ("ready", "reachable")
