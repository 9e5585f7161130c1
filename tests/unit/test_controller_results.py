"""The controller acts on the whole ``Result`` of a pass, in one place, against the in-memory swarm:
a terminal failure (a missing proxy permission) is not retried and is shown; a transient one comes
back after ``requeue_after`` by itself; a converged swarm is left alone."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from reconciler.engine.errors import TerminalError, TransientError
from reconciler.engine.events import OutcomeStatus
from reconciler.engine.reconcile import reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.metrics import Metrics
from reconciler.state.desired import compile_desired
from reconciler.swarm.fake import FakeSwarm
from tests.controller_thread import running

API = "reconciler.swarm/v1alpha1"
INSTANCE = "ctl-test"


def write(folder: Path, *names: str) -> None:
    docs = [{"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}}]
    docs += [
        {"apiVersion": API, "kind": "Service", "metadata": {"name": n}, "spec": {"image": "x:1", "networks": ["net"]}}
        for n in names
    ]
    (folder / "m.yaml").write_text(yaml.safe_dump_all(docs))


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(0.01)


def controller(folder: Path, swarm: FakeSwarm, metrics: Metrics | None = None) -> Controller:
    config = ControllerConfig(folder, instance=INSTANCE, resync_s=3600, dependency_timeout_s=1)
    return Controller(config, swarm, metrics=metrics)


def test_a_refused_write_is_terminal_and_not_retried(tmp_path: Path) -> None:
    write(tmp_path, "web")
    swarm = FakeSwarm(refused={"POST"})
    metrics = Metrics()
    with running(controller(tmp_path, swarm, metrics)) as ctl:
        wait_for(lambda: ctl.status()["terminal"] is not None)
        wait_for(lambda: swarm.events_connected())  # its connect asks for one more pass, which is not a retry
        time.sleep(0.3)
        settled = swarm.requests
        time.sleep(1.5)  # long enough for several backoff retries (0.5 s, 1 s, …) if there were any
        assert swarm.requests == settled, "a terminal failure was retried"
        terminal: dict[str, Any] = ctl.status()["terminal"]
        assert any("the socket proxy needs NETWORKS=1 and POST=1" in r for r in terminal["reasons"])
        assert b"reconciler_terminal 1.0" in metrics.render()
        assert swarm.writes == []
        # Input changes end the hold: a new revision is tried at once (and fails the same way here).
        write(tmp_path, "web", "api")
        wait_for(lambda: swarm.requests > settled)


def test_a_refused_observation_is_terminal_and_clears_when_the_engine_changes(tmp_path: Path) -> None:
    write(tmp_path, "web")
    swarm = FakeSwarm(refused={"NODES"})
    metrics = Metrics()
    with running(controller(tmp_path, swarm, metrics)) as ctl:
        wait_for(lambda: ctl.status()["terminal"] is not None)
        assert "NODES=1" in ctl.status()["terminal"]["reasons"][0]
        wait_for(lambda: swarm.events_connected())
        time.sleep(0.3)
        settled = swarm.requests
        time.sleep(1.0)
        assert swarm.requests == settled
        swarm.refused.clear()  # the operator opens the proxy; the proxy's redeploy is an engine event
        swarm.create_config({"Name": "unrelated", "Data": "eA=="})
        wait_for(lambda: ctl.status()["terminal"] is None and ctl.status()["last_result"]["ok"])
        assert b"reconciler_terminal 0.0" in metrics.render()
        assert ctl.status()["last_error"] is None


def test_a_transient_failure_is_requeued_without_another_trigger(tmp_path: Path) -> None:
    write(tmp_path, "web")
    swarm = FakeSwarm(reachable=False)
    with running(controller(tmp_path, swarm)) as ctl:
        wait_for(lambda: ctl.status()["passes"] >= 1)
        assert ctl.status()["terminal"] is None
        assert ctl.status()["last_error"]["stage"] == "observe"
        swarm.reachable = True  # no event, no file change: only the requeue brings the next pass
        wait_for(lambda: (ctl.status()["last_result"] or {}).get("ok") is True, timeout=15)
        assert ctl.status()["last_error"] is None
        assert {o["state"] for o in ctl.status()["objects"]} == {"in sync"}


def test_a_converged_swarm_is_not_written_again(tmp_path: Path) -> None:
    write(tmp_path, "web", "api")
    swarm = FakeSwarm()
    ctl = controller(tmp_path, swarm)
    ctl.pass_once()
    assert len(swarm.writes) == 3
    ctl.pass_once()
    ctl.pass_once()
    assert len(swarm.writes) == 3
    assert ctl.status()["last_result"]["counts"] == {"noop": 3}


def test_outcomes_carry_typed_errors(tmp_path: Path) -> None:
    write(tmp_path, "web")
    desired = compile_desired(load_manifests(tmp_path), INSTANCE)
    refused = reconcile_once(FakeSwarm(refused={"POST"}), desired, dependency_timeout=1)
    failed = [o for o in refused.applied.outcomes if o.status is OutcomeStatus.FAILED]
    assert failed and all(isinstance(o.error, TerminalError) for o in failed)
    assert refused.terminal and refused.requeue_after is None
    # A change skipped because its dependency failed terminally is not retried on its own account.
    skipped = [o for o in refused.applied.outcomes if o.status is OutcomeStatus.SKIPPED]
    assert skipped and all(o.error is None for o in skipped)
    assert len(refused.terminal_reasons) == 1

    unreachable = reconcile_once(FakeSwarm(reachable=False), desired)
    assert isinstance(unreachable.error, TransientError)
    assert not unreachable.terminal and unreachable.requeue_after is not None
