"""A write that loses a race with another writer ("update out of sequence") is planned again from a
fresh observation, not a crash and not a lost update."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from reconciler.swarm.port import SwarmPort, VersionConflict
from tests.contract.conftest import ContractSwarm


class RacingPort:
    """The test's port, except that another writer updates the service through the same port just
    before our first ``update_service`` of it."""

    def __init__(self, inner: SwarmPort, races: int = 1) -> None:
        self.inner = inner
        self.races_left = races
        self.raced = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def update_service(self, service_id: str, version: int, spec: dict[str, Any]) -> None:
        if self.races_left:
            self.races_left -= 1
            self.raced += 1
            [live] = [s for s in self.inner.snapshot().services if s["ID"] == service_id]
            theirs = copy.deepcopy(live["Spec"])
            theirs["Labels"]["other-writer"] = f"was-here-{self.raced}"
            self.inner.update_service(service_id, live["Version"]["Index"], theirs)
        self.inner.update_service(service_id, version, spec)


def deployed(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Service", "svc", {"image": cs.image, "replicas": 0, "labels": {"v": "1"}}))
    cs.converge()
    cs.write(cs.doc("Service", "svc", {"image": cs.image, "replicas": 0, "labels": {"v": "2"}}))


def test_a_lost_race_is_retried_from_a_fresh_observation(cs: ContractSwarm) -> None:
    deployed(cs)
    port = RacingPort(cs.port)
    result = cs.reconcile(port=port)  # type: ignore[arg-type]
    assert port.raced == 1
    assert result.attempts == 2
    assert result.converged, result.applied.outcomes
    live = cs.service(cs.name("svc"))
    assert live is not None
    assert live["Spec"]["Labels"]["v"] == "2" and "other-writer" not in live["Spec"]["Labels"]
    assert cs.plan().in_sync


def test_the_losing_write_is_a_version_conflict_on_the_port(cs: ContractSwarm) -> None:
    deployed(cs)
    live = cs.service(cs.name("svc"))
    assert live is not None
    cs.hand_edit_service("svc", lambda spec: spec["Labels"].update({"first": "writer"}))
    with pytest.raises(VersionConflict):
        cs.port.update_service(live["ID"], live["Version"]["Index"], live["Spec"])
