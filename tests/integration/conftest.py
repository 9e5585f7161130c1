"""Fixtures for tests that run the engine against the lab's real swarm.

Each test gets its own reconciler instance name and object-name prefix, so tests never see each
other's objects, and everything the instance made is removed afterwards.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import pytest
from click.testing import CliRunner

from reconciler.cli.app import cli
from reconciler.core.labels import MANAGED_BY
from reconciler.swarm.docker_api import DockerSwarm, connect
from tests.lab import Lab
from tests.lab.images import ensure_busybox_image
from tests.manifest_folder import ManifestFolder, running_task_ids


@pytest.fixture(scope="session")
def busybox(lab: Lab) -> str:
    return ensure_busybox_image(lab.env())


@dataclass
class Cli:
    exit_code: int
    stdout: str
    stderr: str


@dataclass
class Workspace(ManifestFolder):
    """One test's manifests folder, instance and names, with helpers to drive the engine."""

    lab: Lab
    client: docker.DockerClient
    folder: Path
    instance: str
    prefix: str

    # name, doc, write and desired: ManifestFolder's

    def swarm(self, docker_host: str | None = None) -> DockerSwarm:
        return connect(docker_host or self.lab.base_url)

    def cli(self, *args: str, docker_host: str | None = None, input: str | None = None) -> Cli:
        argv = ["--docker-host", docker_host or self.lab.base_url, "--instance", self.instance, *args]
        result = CliRunner().invoke(cli, argv, input=input)
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return Cli(result.exit_code, result.stdout, result.stderr)

    def service(self, base: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.api.inspect_service(self.name(base))
        return found

    def task_ids(self, base: str, timeout: float = 30.0, running: int = 1) -> set[str]:
        """IDs of the service's running tasks, once at least ``running`` run."""
        return running_task_ids(self.client, self.name(base), running, timeout)


def cleanup_instance(client: docker.DockerClient, instance: str, prefix: str | None = None) -> None:
    """Remove every object labelled for ``instance`` and every object whose name starts with ``prefix``."""
    api = client.api
    label = {"label": f"{MANAGED_BY}={instance}"}

    def ours(items: list[dict[str, Any]], name_of: Any) -> list[dict[str, Any]]:
        return [i for i in items if prefix is not None and name_of(i).startswith(prefix)]

    for service in {
        s["ID"]: s for s in api.services(filters=label) + ours(api.services(), lambda s: s["Spec"]["Name"])
    }.values():
        api.remove_service(service["ID"])
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        t for t in api.tasks() if t.get("ServiceID") and t["Status"]["State"] in ("running", "starting")
        and any(t["ServiceID"] == s["ID"] for s in api.services(filters=label))
    ):  # fmt: skip
        time.sleep(0.2)
    for remove, items in (
        (api.remove_config, api.configs(filters=label) + ours(api.configs(), lambda c: c["Spec"]["Name"])),
        (api.remove_secret, api.secrets(filters=label) + ours(api.secrets(), lambda c: c["Spec"]["Name"])),
    ):
        for item in {i["ID"]: i for i in items}.values():
            _retry(lambda item=item, remove=remove: remove(item["ID"]))
    for network in {
        n["Id"]: n for n in api.networks(filters=label) + ours(api.networks(), lambda n: n["Name"])
    }.values():
        _retry(lambda network=network: api.remove_network(network["Id"]))
    # A removed network stays listed until its last task has stopped: wait, so that the next test
    # (or a plan) does not see it.
    settle = time.monotonic() + 30
    while time.monotonic() < settle and (api.networks(filters=label) or ours(api.networks(), lambda n: n["Name"])):
        time.sleep(0.2)


def _retry(action: Any, attempts: int = 50) -> None:
    """Removing a config or network right after its service fails until the tasks are gone."""
    for _ in range(attempts):
        try:
            action()
            return
        except docker.errors.NotFound:
            return
        except docker.errors.APIError:
            time.sleep(0.2)


@pytest.fixture
def ws(lab: Lab, docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[Workspace]:
    token = secrets.token_hex(3)
    folder = tmp_path / "manifests"
    folder.mkdir()
    workspace = Workspace(lab, docker_client, folder, instance=f"test-{token}", prefix=f"t{token}")
    try:
        yield workspace
    finally:
        cleanup_instance(docker_client, workspace.instance, workspace.prefix)
