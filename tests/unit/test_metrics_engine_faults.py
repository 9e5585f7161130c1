"""Counters stay right after engine faults (issue 14, item 9): when the engine stops answering in the
middle of a pass, what the pass had already written is counted once, in that pass, and the error is
counted under the stage it happened in.

Before, a pass that the engine left half-way came back as a bare error: the changes made before the
fault vanished from ``reconciler_changes_applied_total`` (the next pass found them done and counted
nothing), and the fault counted as an ``observe`` error although it happened while writing. Against the
in-memory swarm, made to stop answering after a given number of writes or reads.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import apply_confirmed, plan_once
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.metrics import Metrics
from reconciler.state.desired import compile_desired
from reconciler.swarm.fake import FakeSwarm
from reconciler.swarm.port import EngineUnavailable

API = "reconciler.swarm/v1alpha1"


@dataclass
class FaultySwarm(FakeSwarm):
    """Stops answering at the write number ``fail_at_write`` (1-based), or at the first read after
    ``fail_reading_after_writes`` writes; ``heal()`` brings it back."""

    fail_at_write: int | None = None
    fail_reading_after_writes: int | None = None

    def _request(self, method: str, path: str) -> None:
        writing = method not in ("GET", "HEAD")
        if writing and self.fail_at_write is not None and len(self.writes) + 1 >= self.fail_at_write:
            self.reachable = False
        after = self.fail_reading_after_writes
        if not writing and after is not None and len(self.writes) >= after:
            self.reachable = False
        super()._request(method, path)

    def heal(self) -> None:
        self.fail_at_write = self.fail_reading_after_writes = None
        self.reachable = True


def manifests(folder: Path) -> Path:
    docs = [{"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}}]
    docs += [
        {"apiVersion": API, "kind": "Service", "metadata": {"name": n}, "spec": {"image": "x:1", "networks": ["net"]}}
        for n in ("web", "api")
    ]
    (folder / "m.yaml").write_text(yaml.safe_dump_all(docs))
    return folder


def controller(folder: Path, swarm: FakeSwarm, metrics: Metrics) -> Controller:
    config = ControllerConfig(folder, instance="faults", resync_s=3600, dependency_timeout_s=1, events=False)
    return Controller(config, swarm, metrics=metrics)


def applied(metrics: Metrics, kind: str, action: str = "create") -> float:
    return metrics.registry.get_sample_value("reconciler_changes_applied_total", {"kind": kind, "action": action}) or 0


def errors(metrics: Metrics, stage: str) -> float:
    return metrics.registry.get_sample_value("reconciler_errors_total", {"stage": stage}) or 0


def test_changes_written_before_the_engine_went_away_are_counted_once(tmp_path: Path) -> None:
    swarm = FaultySwarm(fail_at_write=2)  # the network is created, then no answer for the first service
    metrics = Metrics()
    ctl = controller(manifests(tmp_path), swarm, metrics)
    ctl.pass_once()
    assert [path for _, path in swarm.writes] == ["/networks/create"]
    assert applied(metrics, "Network") == 1  # before: 0, and never counted afterwards
    assert applied(metrics, "Service") == 0
    assert (errors(metrics, "apply"), errors(metrics, "observe")) == (1, 0)  # before: observe
    assert ctl.status()["last_error"]["stage"] == "apply"
    rows = {row["key"]: row["state"] for row in ctl.status()["objects"]}
    assert rows["Network/net"] == "in sync"  # what was written is shown as written

    swarm.heal()
    ctl.pass_once()
    assert applied(metrics, "Network") == 1  # not counted twice
    assert applied(metrics, "Service") == 2
    created = sum(1 for _, path in swarm.writes if path.endswith("/create"))
    assert created == applied(metrics, "Network") + applied(metrics, "Service") == 3


def test_writes_are_counted_when_the_engine_goes_away_while_they_are_read_back(tmp_path: Path) -> None:
    swarm = FaultySwarm(fail_reading_after_writes=3)  # every write answered, the fixpoint's read is not
    metrics = Metrics()
    ctl = controller(manifests(tmp_path), swarm, metrics)
    ctl.pass_once()
    assert len(swarm.writes) == 3
    assert (applied(metrics, "Network"), applied(metrics, "Service")) == (1, 2)  # before: (0, 0)
    assert errors(metrics, "apply") == 1 and errors(metrics, "observe") == 0
    swarm.heal()
    ctl.pass_once()
    assert (applied(metrics, "Network"), applied(metrics, "Service")) == (1, 2)
    assert ctl.status()["last_error"] is None


def test_an_engine_that_does_not_answer_at_all_is_an_observe_error(tmp_path: Path) -> None:
    swarm = FaultySwarm(reachable=False)
    metrics = Metrics()
    ctl = controller(manifests(tmp_path), swarm, metrics)
    ctl.pass_once()
    assert (errors(metrics, "observe"), errors(metrics, "apply")) == (1, 0)
    assert applied(metrics, "Network") == 0 and swarm.writes == []


def test_the_cli_apply_still_raises_when_the_engine_goes_away(tmp_path: Path) -> None:
    """``apply_confirmed`` (``reconciler apply``) keeps its contract: the engine's own error is raised."""
    swarm = FaultySwarm(fail_at_write=2)
    desired = compile_desired(load_manifests(manifests(tmp_path)), "faults")
    observed, plan = plan_once(swarm, desired, PlanOptions())
    with pytest.raises(EngineUnavailable) as raised:
        apply_confirmed(swarm, desired, PlanOptions(), observed, plan)
    assert type(raised.value) is EngineUnavailable


def test_drift_repaired_across_an_engine_fault_is_counted_once_per_object(tmp_path: Path) -> None:
    """A pass the engine left half-way counts the drift it repaired; the drift it could not reach is
    counted by the pass that finds it again, not by both."""
    swarm = FaultySwarm()
    metrics = Metrics()
    ctl = controller(manifests(tmp_path), swarm, metrics)
    ctl.pass_once()
    for service in swarm.snapshot().services:  # both services edited by hand
        spec = copy.deepcopy(service["Spec"])
        spec["Labels"]["hand"] = "made"
        swarm.update_service(service["ID"], service["Version"]["Index"], spec)
    swarm.fail_at_write = len(swarm.writes) + 2  # the first repair goes through, the second gets no answer
    ctl.pass_once()
    assert drift(metrics, "Service") == 1  # before: 2 (both found), and 3 after the next pass
    swarm.heal()
    ctl.pass_once()
    assert drift(metrics, "Service") == 2
    assert applied(metrics, "Service", "update") == 2


def drift(metrics: Metrics, kind: str) -> float:
    return metrics.registry.get_sample_value("reconciler_drift_detected_total", {"kind": kind}) or 0
