"""``runtime.collector.paused``: no automatic cycle collection during a controller pass (so that a
full collection does not land between a change and its write), the collector on again afterwards,
and a collector that was off left off."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.runtime.collector import paused
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.state.snapshot import Snapshot
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"


@pytest.fixture
def collector_on() -> Iterator[None]:
    was_on = gc.isenabled()
    gc.enable()
    yield
    if not was_on:
        gc.disable()


class RecordingSwarm(FakeSwarm):
    """Records whether the cycle collector was on at each snapshot and update (inside a pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.collector_on: list[bool] = []

    def snapshot(self) -> Snapshot:
        self.collector_on.append(gc.isenabled())
        return super().snapshot()


def test_off_inside_and_back_on_after_even_on_an_error(collector_on: None) -> None:
    with paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), paused():
        raise RuntimeError("the pass failed")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off(collector_on: None) -> None:
    gc.disable()
    with paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
    gc.enable()


def test_a_controller_pass_runs_without_it(tmp_path: Path, collector_on: None) -> None:
    doc = {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"}, "spec": {"image": "x:1"}}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc))
    swarm = RecordingSwarm()
    ctl = Controller(ControllerConfig(tmp_path, instance="gc", resync_s=3600, watch=False, events=False), swarm)
    ctl.pass_once()  # creates the service: observe, then the check after the write
    ctl.pass_once()  # reads the swarm on a thread while loading
    assert len(swarm.collector_on) >= 3 and not any(swarm.collector_on)
    assert gc.isenabled()
