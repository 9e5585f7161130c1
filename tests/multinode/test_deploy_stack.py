"""deploy/stack.yml on the three-node lab, as users run it: the controller replicated on managers
behind the socket proxy; one leader converges examples/; when the leader's node loses its engine,
a controller on another node takes over and keeps converging; the proxy refuses what the
controller must never do."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
import yaml

from tests.integration.conftest import cleanup_instance
from tests.lab import Lab
from tests.lab.demo import adapt_examples
from tests.lab.deploy_images import ensure_reconciler_image, ensure_socket_proxy_image
from tests.lab.images import ensure_standin_image
from tests.lab.multinode import MultiNodeLab

REPO = Path(__file__).resolve().parents[2]
STACK = "reconciler"
LEASE = "reconciler-lease-reconciler"


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, step: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = predicate()
        except (docker.errors.APIError, docker.errors.DockerException, OSError, KeyError, ValueError):
            found = None
        if found:
            return found
        time.sleep(step)
    raise AssertionError(f"{what}: not within {timeout}s")


@pytest.fixture(scope="module")
def stack(lab: Lab, multinode: MultiNodeLab) -> Iterator[Path]:
    images = {
        "RECONCILER_IMAGE": ensure_reconciler_image(lab.env()),
        "SOCKET_PROXY_IMAGE": ensure_socket_proxy_image(lab.env()),
    }
    standin = ensure_standin_image(lab.env())
    for image in [*images.values(), standin]:
        multinode.load_image(image, source=lab)
    folder = multinode.root / "stack-manifests"  # one host folder: every node's bind mount sees it
    adapt_examples(REPO / "examples", folder, str(multinode.socket_path("node1")), standin)
    # Each node's engine socket has its own path here: give the proxies one path per node ID.
    sockets = multinode.root / "sockets"
    sockets.mkdir(exist_ok=True)
    for node in multinode.node_names:
        link = sockets / f"{multinode.node_id(node)}.sock"
        if not link.is_symlink():
            link.symlink_to(multinode.socket_path(node))
    env = multinode.env("node1", {
        **images, "RECONCILER_MANIFESTS_DIR": str(folder), "RECONCILER_MANIFESTS": "/manifests",
        "DOCKER_SOCKET": f"{sockets}/{{{{.Node.ID}}}}.sock",
    })  # fmt: skip
    deploy = subprocess.run(["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(REPO / "deploy/stack.yml"), STACK],
                            env=env, capture_output=True, text=True, timeout=120)  # fmt: skip
    assert deploy.returncode == 0, deploy.stderr
    try:
        yield folder
    finally:
        survivor = next(n for n in multinode.node_names if multinode.ping(n))
        subprocess.run(["docker", "stack", "rm", STACK], env=multinode.env(survivor), capture_output=True, timeout=60)
        for node in multinode.node_names:
            if not multinode.ping(node):
                multinode.start_node(node)
        client = multinode.client(survivor)
        wait_for(
            lambda: not client.api.services(filters={"label": f"com.docker.stack.namespace={STACK}"}), 60, "stack gone"
        )
        cleanup_instance(client, "reconciler")
        for config in client.api.configs(filters={"name": LEASE}):
            client.api.remove_config(config["ID"])


def lease_holder(client: docker.DockerClient) -> str | None:
    [config] = client.api.configs(filters={"name": LEASE})
    holder = config["Spec"]["Labels"].get("reconciler.swarm/lease-holder")
    return str(holder) if holder else None


def node_of(client: docker.DockerClient, identity: str) -> str:
    """Controller identities are ``<container hostname>-<pid>``; map the container to its node."""
    hostname = identity.rsplit("-", 1)[0]
    for task in client.api.tasks(filters={"service": f"{STACK}_controller", "desired-state": "running"}):
        container = (task.get("Status", {}).get("ContainerStatus") or {}).get("ContainerID", "")
        if container.startswith(hostname):
            node = client.api.inspect_node(task["NodeID"])
            return str(node["Description"]["Hostname"])
    raise KeyError(identity)


def test_the_stack_converges_examples_and_survives_the_leaders_node(multinode: MultiNodeLab, stack: Path) -> None:
    client = multinode.client("node1")

    def running() -> list[dict[str, Any]]:
        tasks = client.api.tasks(filters={"service": f"{STACK}_controller", "desired-state": "running"})
        return [t for t in tasks if t["Status"]["State"] == "running"]

    # Running once healthy: the image's HEALTHCHECK first runs at about 30 s.
    tasks = wait_for(lambda: len(running()) >= 2 and running(), 120, "2 controllers running")
    assert len({t["NodeID"] for t in tasks}) == len(tasks) >= 2, "spread across managers"
    holder = wait_for(lambda: lease_holder(client), 60, "a leader")
    wait_for(lambda: client.api.services(filters={"name": "wordpress"}), 120, "examples applied through the controller")
    leader_node = node_of(client, holder)

    survivor = next(n for n in multinode.node_names if n != leader_node)
    other = multinode.client(survivor)
    began = time.monotonic()
    multinode.stop_node(leader_node)
    new_holder = wait_for(lambda: (h := lease_holder(other)) and h != holder and h, 90, "another leader")
    failover = time.monotonic() - began
    assert node_of(other, new_holder) != leader_node

    web = yaml.safe_load((stack / "networks.yaml").read_text().split("---")[0])
    extra = {**web, "metadata": {"name": "after-failover"}}
    (stack / "after.yaml").write_text(yaml.safe_dump(extra))
    converged = wait_for(lambda: other.api.networks(names=["after-failover"]), 60, "a change made after the failure")
    assert converged
    print(f"\nleader on {leader_node} lost its engine: {new_holder} took over in {failover:.1f} s "
          "and applied a change made afterwards")  # fmt: skip
    multinode.start_node(leader_node)


def test_the_proxy_refuses_what_the_controller_must_never_do(multinode: MultiNodeLab, stack: Path) -> None:
    for node in multinode.node_names:
        client = multinode.client(node)
        found = client.containers.list(filters={"label": f"com.docker.swarm.service.name={STACK}_controller"})
        if found:
            container = found[0]
            break
    else:
        pytest.fail("no controller container")
    probe = (
        "import json, urllib.request, urllib.error\n"
        "def call(method, path, body=None):\n"
        "    req = urllib.request.Request('http://socket-proxy:2375' + path, method=method,\n"
        "        data=json.dumps(body).encode() if body is not None else None, headers={'Content-Type': 'application/json'})\n"
        "    try:\n"
        "        return urllib.request.urlopen(req, timeout=5).status\n"
        "    except urllib.error.HTTPError as e:\n"
        "        return e.code\n"
        "print(json.dumps({'create': call('POST', '/v1.41/containers/create', {'Image': 'x'}),\n"
        "                  'list': call('GET', '/v1.41/containers/json'), 'exec': call('POST', '/v1.41/containers/x/exec', {}),\n"
        "                  'services': call('GET', '/v1.41/services')}))\n"
    )
    result = container.exec_run(["python3", "-c", probe])
    assert result.exit_code == 0, result.output
    answers = json.loads(result.output.decode().strip().splitlines()[-1])
    assert answers == {"create": 403, "list": 403, "exec": 403, "services": 200}
    mounts = [m["Destination"] for m in container.attrs["Mounts"]]
    assert "/var/run/docker.sock" not in mounts
