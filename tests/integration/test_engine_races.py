"""A write that loses a race with another writer is retried from a fresh observation, not a crash."""

from __future__ import annotations

from typing import Any

from reconciler.engine.reconcile import reconcile_once
from reconciler.swarm.docker_api import DockerSwarm
from tests.integration.conftest import Workspace


class RacingSwarm(DockerSwarm):
    """The real adapter, except that another writer updates the service just before our first update."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__(ws.swarm().api)
        self.ws = ws
        self.raced = 0

    def update_service(self, service_id: str, version: int, spec: dict[str, Any]) -> None:
        if self.raced == 0:
            self.raced += 1
            live = self.ws.client.api.inspect_service(service_id)
            live["Spec"]["Labels"]["other-writer"] = "was-here"
            self.ws.client.api.update_service(
                service_id, live["Version"]["Index"], name=live["Spec"]["Name"], labels=live["Spec"]["Labels"],
                task_template=live["Spec"]["TaskTemplate"], mode=live["Spec"]["Mode"],
            )  # fmt: skip
        super().update_service(service_id, version, spec)


def test_concurrent_update_is_retried_from_a_fresh_observation(ws: Workspace, busybox: str) -> None:
    ws.write(ws.doc("Service", "svc", {"image": busybox, "replicas": 0, "labels": {"v": "1"}}))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    ws.write(ws.doc("Service", "svc", {"image": busybox, "replicas": 0, "labels": {"v": "2"}}))

    swarm = RacingSwarm(ws)
    result = reconcile_once(swarm, ws.desired())
    assert swarm.raced == 1
    assert result.attempts == 2
    assert result.converged, result.applied.outcomes
    labels = ws.service("svc")["Spec"]["Labels"]
    assert labels["v"] == "2" and "other-writer" not in labels
