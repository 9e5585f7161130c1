"""The lab answers as a real, isolated, single-node Docker Swarm."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import time
from typing import TYPE_CHECKING

from tests.lab import Lab
from tests.lab.host import TMPFS_ENV

if TYPE_CHECKING:
    import docker


def test_swarm_is_active_with_one_ready_manager(docker_client: docker.DockerClient) -> None:
    swarm = docker_client.info()["Swarm"]
    assert swarm["LocalNodeState"] == "active"
    assert swarm["ControlAvailable"] is True

    nodes = docker_client.nodes.list()
    assert len(nodes) == 1
    node = nodes[0].attrs
    assert node["Spec"]["Role"] == "manager"
    assert node["Status"]["State"] == "ready"
    assert node["ManagerStatus"]["Leader"] is True


def test_client_talks_to_the_lab_socket(lab: Lab, docker_client: docker.DockerClient) -> None:
    assert lab.base_url == f"unix://{lab.root}/docker.sock"
    assert docker_client.api._custom_adapter.socket_path == str(lab.socket_path)

    info = docker_client.info()
    assert info["DockerRootDir"] == str(lab.data_dir)
    assert info["Driver"] == "vfs"
    state = lab.state()
    assert state is not None
    assert f"srlab.token={state['token']}" in info["Labels"]
    assert state["socket"] == str(lab.socket_path)


def test_docker_cli_env_targets_the_lab(lab: Lab) -> None:
    cli = shutil.which("docker")
    assert cli is not None, "no docker CLI on PATH"
    proc = subprocess.run(
        [cli, "info", "--format", "{{json .Swarm.LocalNodeState}} {{json .DockerRootDir}}"],
        env=lab.env(),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    node_state, root_dir = proc.stdout.split()
    assert json.loads(node_state) == "active"
    assert json.loads(root_dir) == str(lab.data_dir)


def test_overlay_network_can_be_created_and_removed(docker_client: docker.DockerClient) -> None:
    name = f"srlab-test-{secrets.token_hex(4)}"
    network = docker_client.networks.create(name, driver="overlay", attachable=True)
    try:
        # Driver reads "" until swarm's allocator has allocated the network (a few ms after create).
        deadline = time.monotonic() + 10
        while network.attrs["Driver"] != "overlay" and time.monotonic() < deadline:
            time.sleep(0.1)
            network.reload()
        assert network.attrs["Driver"] == "overlay"
        assert network.attrs["Scope"] == "swarm"
        assert name in [n.name for n in docker_client.networks.list(names=[name])]
    finally:
        network.remove()
    assert docker_client.networks.list(names=[name]) == []


def test_second_up_reuses_the_running_lab(lab: Lab) -> None:
    pid = lab.pid
    assert pid is not None

    again = Lab(lab.root).up()

    assert again.started is False
    assert again.pid == pid
    assert again.state() == lab.state()
    assert lab._lab_dockerds() == [pid]


def test_the_data_root_is_a_tmpfs_unless_turned_off(lab: Lab) -> None:
    # mountinfo: field 5 is the mount point, the field after " - " the filesystem type. dockerd also
    # bind-mounts its data root onto itself, so the folder may be listed twice.
    types = set()
    with open("/proc/self/mountinfo") as mountinfo:
        for line in mountinfo:
            before, _, after = line.partition(" - ")
            if before.split()[4] == str(lab.data_dir):
                types.add(after.split()[0])
    assert ("tmpfs" in types) is (os.environ.get(TMPFS_ENV, "1") != "0"), types
