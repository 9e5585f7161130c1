"""The fixpoint check: an object that reads back different after its write is "not converging",
with each field; the controller does not rewrite it for the same spec except on a backoff, and a
changed manifest is tried at once. Proved with an in-memory swarm that has a quirk the essences do
not know (it re-spells one environment variable), standing for any Engine quirk found later."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from reconciler.engine.reconcile import reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.metrics import Metrics
from reconciler.state.desired import compile_desired
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"


class QuirkySwarm(FakeSwarm):
    """Stores ``MODE=fast`` as ``MODE=FAST``: an unknown normalisation."""

    def _store_service(self, spec: dict[str, Any], where: str) -> dict[str, Any]:
        stored = super()._store_service(spec, where)
        container = stored["TaskTemplate"]["ContainerSpec"]
        container["Env"] = [e.upper() if e.startswith("MODE=") else e for e in container.get("Env") or []]
        return stored


def write(folder: Path, mode: str, replicas: int = 1) -> None:
    doc = {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"},
           "spec": {"image": "x:1", "replicas": replicas, "env": {"MODE": mode}}}  # fmt: skip
    (folder / "m.yaml").write_text(yaml.safe_dump(doc))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_write_that_reads_back_different_is_not_converging_with_each_field(tmp_path: Path) -> None:
    write(tmp_path, "fast")
    desired = compile_desired(load_manifests(tmp_path), "fix")
    result = reconcile_once(QuirkySwarm(), desired)
    assert not result.converged
    [item] = result.not_converging
    assert item.key == "Service/web"
    assert 'the manifest says "MODE=fast", the engine stored "MODE=FAST"' in item.reason


def test_the_controller_does_not_write_in_a_loop(tmp_path: Path) -> None:
    write(tmp_path, "fast")
    swarm, clock, metrics = QuirkySwarm(), Clock(), Metrics()
    ctl = Controller(ControllerConfig(tmp_path, instance="fix", watch=False, events=False), swarm, metrics=metrics)
    ctl.holds.clock = clock
    ctl.pass_once()
    assert len(swarm.writes) == 1  # the create
    [row] = ctl.status()["objects"]
    assert row["state"] == "not converging" and "MODE=FAST" in row["reason"]
    assert b'reconciler_objects{state="not converging"} 1.0' in metrics.render()
    for _ in range(20):  # events and resyncs: the object is held, nothing is written
        ctl.pass_once()
    assert len(swarm.writes) == 1
    assert ctl.status()["objects"][0]["state"] == "not converging"

    clock.now += 11  # the first hold (10 s) ends: one more try, then a longer hold
    ctl.pass_once()
    assert len(swarm.writes) == 2
    clock.now += 11
    ctl.pass_once()
    assert len(swarm.writes) == 2  # held for 20 s now
    clock.now += 10
    ctl.pass_once()
    assert len(swarm.writes) == 3


def test_a_changed_manifest_is_tried_at_once_and_converges(tmp_path: Path) -> None:
    write(tmp_path, "fast")
    swarm = QuirkySwarm()
    ctl = Controller(ControllerConfig(tmp_path, instance="fix", watch=False, events=False), swarm)
    ctl.pass_once()
    ctl.pass_once()
    assert len(swarm.writes) == 1
    write(tmp_path, "SLOW")  # a value the quirk leaves alone: a new spec, not held
    ctl.pass_once()
    assert len(swarm.writes) == 2
    assert ctl.status()["objects"][0]["state"] == "in sync"
    ctl.pass_once()
    assert len(swarm.writes) == 2
