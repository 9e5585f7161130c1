"""The controller's first revision loads before the swarm is read (issue 18, memory): the early
observation (``runtime.early_observation``) is started only once a revision is in force, so the
first load's parse and validation peak and an observation of the whole swarm are not held at once.
Either way a pass observes once and converges the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.runtime import controller as controller_module
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.early_observation import EarlyObservation
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"
SNAPSHOT_REQUESTS = 7  # one list per kind (FakeSwarm.snapshot)


class Follower:
    is_leader = False


@pytest.mark.parametrize("leadership", [None, Follower()])
def test_the_first_pass_observes_after_its_load_and_later_ones_while_they_load(
    tmp_path: Path, monkeypatch: Any, leadership: Follower | None
) -> None:
    doc = {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"}, "spec": {"image": "x:1"}}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc))
    started: list[EarlyObservation] = []

    def counted(swarm: Any) -> EarlyObservation:
        started.append(EarlyObservation(swarm))
        return started[-1]

    monkeypatch.setattr(controller_module, "EarlyObservation", counted)
    swarm = FakeSwarm()
    ctl = Controller(ControllerConfig(tmp_path, instance="first", resync_s=3600, watch=False, events=False), swarm,
                     leadership=leadership)  # fmt: skip
    ctl.pass_once()
    assert started == [] and ctl.status()["last_result"] is not None
    assert ctl.status()["last_result"]["counts"] == ({"noop": 1} if leadership is None else {"create": 1})
    before = swarm.requests
    ctl.pass_once()
    assert len(started) == 1
    assert swarm.requests - before == SNAPSHOT_REQUESTS  # still one observation a pass
