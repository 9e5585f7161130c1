"""The controller reads the swarm on a thread while it loads the manifests
(``runtime.early_observation``): still one observation per pass, made during that pass; one that
waited too long for the load is not used (the pass observes again); an engine that does not answer
is reported as a failed observation, by a leader and by a follower."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.engine.errors import TransientError
from reconciler.engine.reconcile import reconcile_once
from reconciler.runtime import controller as controller_module
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.early_observation import MAX_AGE_S, EarlyObservation
from reconciler.state.snapshot import Snapshot
from reconciler.swarm.fake import FakeSwarm
from reconciler.swarm.port import EngineUnavailable

API = "reconciler.swarm/v1alpha1"
SNAPSHOT_REQUESTS = 7  # one list per kind (FakeSwarm.snapshot)


class Follower:
    is_leader = False


def _folder(tmp_path: Path) -> Path:
    doc = {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"}, "spec": {"image": "x:1"}}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc))
    return tmp_path


def _config(folder: Path) -> ControllerConfig:
    return ControllerConfig(folder, instance="early", resync_s=3600, watch=False, events=False)


def test_a_pass_observes_once_and_plans_what_it_observed(tmp_path: Path) -> None:
    swarm = FakeSwarm()
    ctl = Controller(_config(_folder(tmp_path)), swarm)
    ctl.pass_once()  # creates the service
    assert swarm.writes and ctl.status()["last_result"]["ok"]
    before, writes = swarm.requests, len(swarm.writes)
    ctl.pass_once()
    assert swarm.requests - before == SNAPSHOT_REQUESTS  # the early observation is the pass's only one
    assert len(swarm.writes) == writes
    assert [row["state"] for row in ctl.status()["objects"]] == ["in sync"]


def test_an_engine_that_does_not_answer_is_a_failed_observation(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    for leadership in (None, Follower()):
        ctl = Controller(_config(folder), FakeSwarm(reachable=False), leadership=leadership)
        ctl.pass_once()
        assert ctl.status()["last_error"]["stage"] == "observe"
        assert not ctl.ready()


def test_the_observation_s_error_is_the_pass_s_result(tmp_path: Path) -> None:
    early = EarlyObservation(FakeSwarm(reachable=False))
    ctl = Controller(_config(_folder(tmp_path)), FakeSwarm())
    ctl.source.load()
    assert ctl.source.desired is not None
    result = reconcile_once(FakeSwarm(), ctl.source.desired, observation=early.result)
    assert isinstance(result.error, TransientError) and result.requeue_after is not None
    assert not result.plan.changes  # nothing was planned from a swarm that was not seen
    with pytest.raises(EngineUnavailable):  # raised where the observation is taken
        EarlyObservation(FakeSwarm(reachable=False)).result()


class HeldSwarm(FakeSwarm):
    """A swarm whose snapshot waits until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def snapshot(self) -> Snapshot:
        self.release.wait(10)
        return super().snapshot()


def test_an_observation_is_fresh_while_read_and_shortly_after() -> None:
    now = [0.0]
    swarm = HeldSwarm()
    early = EarlyObservation(swarm, clock=lambda: now[0])
    now[0] = 5.0
    assert early.fresh()  # still being read: it will be as new as can be
    swarm.release.set()
    early.result()
    now[0] += MAX_AGE_S / 2
    assert early.fresh()
    now[0] += MAX_AGE_S
    assert not early.fresh()


def test_an_observation_that_waited_too_long_for_the_load_is_read_again(tmp_path: Path, monkeypatch: Any) -> None:
    swarm = FakeSwarm()
    ctl = Controller(_config(_folder(tmp_path)), swarm)
    ctl.pass_once()
    ticks = itertools.count(0.0, 1.0)  # a second between the observation's end and the question
    monkeypatch.setattr(controller_module, "EarlyObservation", lambda s: EarlyObservation(s, clock=lambda: next(ticks)))
    before = swarm.requests
    ctl.pass_once()
    assert swarm.requests - before == 2 * SNAPSHOT_REQUESTS
    assert [row["state"] for row in ctl.status()["objects"]] == ["in sync"]


def test_a_follower_also_reads_again_an_observation_that_waited_too_long(tmp_path: Path, monkeypatch: Any) -> None:
    swarm = FakeSwarm()
    Controller(_config(_folder(tmp_path)), swarm).pass_once()  # a leader made the service
    follower = Controller(_config(tmp_path), swarm, leadership=Follower())
    follower.pass_once()  # its first revision: observed once, after the load
    ticks = itertools.count(0.0, 1.0)
    monkeypatch.setattr(controller_module, "EarlyObservation", lambda s: EarlyObservation(s, clock=lambda: next(ticks)))
    before = swarm.requests
    follower.pass_once()
    assert swarm.requests - before == 2 * SNAPSHOT_REQUESTS  # the stale one dropped, the swarm read again
    assert [row["state"] for row in follower.status()["objects"]] == ["in sync"]
