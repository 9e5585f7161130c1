"""Every series in ``/metrics`` is live and right, and ``/readyz`` tells whether the engine answers (issue 16).

A whole ``reconciler run`` in-process (``Manager`` on the in-memory swarm, HTTP on 127.0.0.1) is scraped
after it created a network and a service, after a drift it repaired, and after the engine went away
and came back; each metric the README lists is checked by value. No ``*_created`` series. Without
leader election the replica always writes, and ``reconciler_leader`` says 1, as ``/status`` says leader.
"""

from __future__ import annotations

import copy
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from reconciler.runtime.manager import EXIT_STOPPED, Manager
from reconciler.runtime.settings import RunSettings
from tests.unit.test_manager import Connector, Engine, Running, wait_for

API = "reconciler.swarm/v1alpha1"
INSTANCE = "metrics-unit"

#: Every family the README lists under "HTTP", with the type it must have.
FAMILIES = {
    "reconciler_reconcile_duration_seconds": "histogram",
    "reconciler_changes_applied_total": "counter",
    "reconciler_drift_detected_total": "counter",
    "reconciler_errors_total": "counter",
    "reconciler_leader": "gauge",
    "reconciler_terminal": "gauge",
    "reconciler_objects": "gauge",
    "reconciler_objects_health": "gauge",
    "reconciler_api_requests_total": "counter",
    "reconciler_last_success_timestamp_seconds": "gauge",
    "reconciler_revision_info": "gauge",
}


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def settings(tmp_path: Path) -> RunSettings:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    docs = [
        {"apiVersion": API, "kind": "Network", "metadata": {"name": "m-net"}, "spec": {}},
        {"apiVersion": API, "kind": "Service", "metadata": {"name": "m-web"},
         "spec": {"image": "x:1", "networks": ["m-net"], "labels": {"tier": "web"}}},
    ]  # fmt: skip
    (manifests / "m.yaml").write_text(yaml.safe_dump_all(docs))
    return RunSettings(manifests=manifests, docker_host="unix:///nowhere.sock", instance=INSTANCE,
                       listen="127.0.0.1:0", identity="me", resync_s=3600.0, leader_election=False,
                       git_dir=tmp_path / "git")  # fmt: skip


@pytest.fixture
def start() -> Iterator[Callable[[Manager], Running]]:
    started: list[Running] = []

    def _start(manager: Manager) -> Running:
        running = Running(manager)
        started.append(running)
        wait_for(lambda: manager.port is not None)
        return running

    yield _start
    for running in started:
        running.manager.stop()
        running.thread.join(10)


def scrape(running: Running) -> dict[str, float]:
    """``{'name{labels}': value}`` of every sample, and the ``# TYPE`` of every family as ``TYPE name``."""
    code, body = running.get("/metrics")
    assert code == 200
    samples: dict[str, float] = {}
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split()
            samples[f"TYPE {name}"] = {"histogram": 1, "counter": 2, "gauge": 3}.get(kind, 0)
        elif line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def quiet_scrape(running: Running, engine: Engine, quiet_s: float = 0.3, timeout: float = 15.0) -> dict[str, float]:
    """A scrape taken while the controller sends the engine nothing: requests of a pass still under
    way are counted when that pass ends, so the request counter is compared between passes."""
    deadline = time.monotonic() + timeout
    while True:
        before = engine.requests
        time.sleep(quiet_s)
        samples = scrape(running)
        if engine.requests == before:
            return samples
        assert time.monotonic() < deadline, "the controller never went quiet"


def test_every_metric_is_live_and_right(settings: RunSettings, start: Callable[[Manager], Running]) -> None:
    engine = Engine()
    began = time.time()
    running = start(Manager(settings, connect=Connector(engine), handle_signals=False))
    wait_for(lambda: running.get("/readyz")[0] == 200)
    wait_for(lambda: scrape(running).get('reconciler_objects{state="in sync"}') == 2.0)
    first = quiet_scrape(running, engine)

    kinds = {"histogram": 1, "counter": 2, "gauge": 3}
    for family, kind in FAMILIES.items():
        assert first.get(f"TYPE {family}") == kinds[kind], f"{family} is not exported as a {kind}"
    assert not [name for name in first if "_created" in name], "stray *_created series"

    assert first["reconciler_reconcile_duration_seconds_count"] >= 1
    assert first['reconciler_changes_applied_total{action="create",kind="Network"}'] == 1.0
    assert first['reconciler_changes_applied_total{action="create",kind="Service"}'] == 1.0
    assert first["reconciler_leader"] == 1.0  # --no-leader-election: this replica writes
    assert running.status()["leader"] is True
    assert first["reconciler_terminal"] == 0.0
    assert (
        first['reconciler_objects_health{health="Healthy"}']
        + first.get('reconciler_objects_health{health="Progressing"}', 0.0)
        >= 1.0
    )
    assert first["reconciler_api_requests_total"] == engine.requests > 0  # every request, as the engine counted
    assert began <= first["reconciler_last_success_timestamp_seconds"] <= time.time()
    (revision,) = [name for name in first if name.startswith("reconciler_revision_info{")]
    assert first[revision] == 1.0 and running.status()["revision"] in revision
    for stage in ("load", "observe", "apply", "lease", "git"):
        assert first[f'reconciler_errors_total{{stage="{stage}"}}'] == 0.0

    # Drift: the service's labels changed behind the controller's back; the event brings it back.
    service = next(s for s in engine.snapshot().services if s["Spec"]["Name"] == "m-web")
    spec = copy.deepcopy(service["Spec"])
    spec["Labels"]["tier"] = "changed"
    engine.update_service(service["ID"], service["Version"]["Index"], spec)
    wait_for(lambda: scrape(running).get('reconciler_drift_detected_total{kind="Service"}') == 1.0)
    repaired = quiet_scrape(running, engine)
    assert repaired['reconciler_changes_applied_total{action="update",kind="Service"}'] == 1.0
    assert repaired["reconciler_api_requests_total"] == engine.requests
    assert (
        repaired["reconciler_reconcile_duration_seconds_count"] > first["reconciler_reconcile_duration_seconds_count"]
    )

    # The engine goes away: not ready, and the failed observation is counted; back: ready again.
    engine.go_away()
    wait_for(lambda: running.get("/readyz")[0] == 503, timeout=5)
    assert scrape(running)['reconciler_errors_total{stage="observe"}'] >= 1.0
    assert running.get("/healthz")[0] == 200  # the process itself is fine: alive, not ready
    engine.reachable = True
    wait_for(lambda: running.get("/readyz")[0] == 200, timeout=15)

    running.manager.stop()
    assert running.wait() == EXIT_STOPPED


def test_readyz_is_503_until_a_pass_succeeded(settings: RunSettings, start: Callable[[Manager], Running]) -> None:
    engine = Engine()
    connect = Connector(engine)
    manager = Manager(settings, connect=connect, handle_signals=False)
    engine_ping = engine.ping
    engine.ping = lambda: (engine_ping(), setattr(engine, "reachable", False))[0]  # type: ignore[method-assign]
    running = start(manager)  # it started (the ping answered), then the engine went away before the first pass
    for _ in range(10):
        assert running.get("/readyz")[0] == 503
        time.sleep(0.05)
    engine.reachable = True
    wait_for(lambda: running.get("/readyz")[0] == 200, timeout=15)


def test_a_clean_stop_does_not_log_a_reconnect(
    settings: RunSettings, start: Callable[[Manager], Running], capsys: pytest.CaptureFixture[str]
) -> None:
    running = start(Manager(replace(settings), connect=Connector(Engine()), handle_signals=False))
    wait_for(lambda: running.get("/readyz")[0] == 200)
    running.manager.stop()
    assert running.wait() == EXIT_STOPPED
    err = capsys.readouterr().err
    assert not re.search(r"event stream (ended|lost)", err), err
