"""What the contract suite's ``ContractSwarm`` (``tests/contract``) and the lab suite's ``Workspace``
(``tests/integration``) share: a test's manifest folder, instance and object-name prefix, the helpers
that write manifests into it, and the wait for a service's running tasks on a real engine. Before,
each had its own copy of these."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import docker
import yaml

from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import DesiredState, compile_desired

__all__ = ["API", "ManifestFolder", "running_task_ids"]

API = "reconciler.swarm/v1alpha1"


class ManifestFolder:
    """Mixed into a dataclass that has ``folder``, ``instance`` and ``prefix`` fields."""

    folder: Path
    instance: str
    prefix: str

    def name(self, base: str) -> str:
        """This test's name for ``base``: tests on the shared lab never see each other's objects."""
        return f"{self.prefix}-{base}"

    def doc(self, kind: str, base: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
        return {"apiVersion": API, "kind": kind, "metadata": {"name": self.name(base), **metadata}, "spec": spec}

    def write(self, *documents: dict[str, Any], file: str = "manifests.yaml") -> Path:
        path = self.folder / file
        path.write_text(yaml.safe_dump_all(documents, sort_keys=False))
        return path

    def desired(self, folder: Path | None = None) -> DesiredState:
        return compile_desired(load_manifests(folder or self.folder), self.instance)


def running_task_ids(
    client: docker.DockerClient, service: str, running: int = 1, timeout: float = 30.0, interval: float = 0.2
) -> set[str]:
    """IDs of the running tasks of the service of that Swarm name, once at least ``running`` of them
    run or ``timeout`` seconds passed (then what runs, for the caller's assert to show)."""
    deadline = time.monotonic() + timeout
    while True:
        tasks = client.api.tasks(filters={"service": service, "desired-state": "running"})
        ids = {t["ID"] for t in tasks if t["Status"]["State"] == "running"}
        if len(ids) >= running or time.monotonic() > deadline:
            return ids
        time.sleep(interval)
