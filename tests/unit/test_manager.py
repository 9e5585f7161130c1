"""``Manager``: what stops it from starting (exit 2, and which of those never reach an engine), and a
whole run in-process on the in-memory swarm: serving, leading, writing, releasing the lease on a stop
(exit 0), a SIGTERM, and a lost lease (exit 3). No dockerd, no git."""

from __future__ import annotations

import copy
import json
import logging
import os
import signal
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from reconciler.runtime.manager import EXIT_CANNOT_START, EXIT_LEASE_LOST, EXIT_STOPPED, Manager
from reconciler.runtime.settings import RunSettings
from reconciler.swarm.fake import FakeSwarm
from reconciler.swarm.lease import LeaseStore
from reconciler.swarm.port import EngineUnavailable, NotFound, SwarmError

INSTANCE = "unit"


@dataclass
class Engine(FakeSwarm):
    """The in-memory swarm plus the few adapter calls the manager and the lease make beyond ``SwarmPort``."""

    closed: int = 0

    def ping(self) -> None:
        with self._lock:
            self._request("GET", "/_ping")

    def close(self) -> None:
        self.closed += 1

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        section, _, ref = path.strip("/").partition("/")
        assert section == "configs", path  # only the lease reads by path
        with self._lock:
            self._request("GET", path)
            for config_id, found in self._configs.items():
                if ref in (config_id, found["Spec"]["Name"]):
                    return copy.deepcopy(found)
        raise NotFound(f"GET {path}: not found", 404)

    def lease_holder(self) -> str | None:
        record = LeaseStore(self).read(INSTANCE)  # type: ignore[arg-type]
        return None if record is None else record.holder

    def give_lease_to(self, holder: str) -> None:
        store = LeaseStore(self)  # type: ignore[arg-type]
        record = store.read(INSTANCE)
        assert record is not None
        store.write(record, holder=holder, transitions=record.transitions + 1)

    def network_names(self) -> set[str]:
        return {n["Name"] for n in self.snapshot().networks}


class Connector:
    """Stands in for ``docker_api.connect``: records every call, then answers with ``engine`` or raises."""

    def __init__(self, engine: Engine | None = None, error: SwarmError | None = None) -> None:
        self.engine = engine or Engine()
        self.error = error
        self.calls: list[tuple[str | None, int | None]] = []

    def __call__(self, docker_host: str | None, timeout: int | None = None) -> Engine:
        self.calls.append((docker_host, timeout))
        if self.error is not None:
            raise self.error
        return self.engine


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    # Manager.run configures the root logger, as the process needs; the next test must not inherit it.
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    others = {name: logging.getLogger(name).level for name in ("urllib3", "docker", "watchfiles")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, other in others.items():
        logging.getLogger(name).setLevel(other)


@pytest.fixture
def settings(tmp_path: Path) -> RunSettings:
    manifests = tmp_path / "manifests"
    manifests.mkdir()
    network = {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "Network", "metadata": {"name": "unit-net"},
               "spec": {}}  # fmt: skip
    (manifests / "net.yaml").write_text(yaml.safe_dump(network))
    return RunSettings(
        manifests=manifests,
        docker_host="unix:///nowhere.sock",
        instance=INSTANCE,
        listen="127.0.0.1:0",
        identity="me",
        lease_s=1.0,
        renew_deadline_s=0.6,
        retry_s=0.1,
        resync_s=30.0,
        git_dir=tmp_path / "git",
    )


def errors_logged(err: str) -> list[str]:
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    return [line["message"] for line in lines if line["level"] == "error"]


# --- cannot start: exit 2 --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"listen": ":http"}, "listen address ':http': port must be 0-65535"),
        ({"listen": "::1:9100"}, "IPv6 addresses need brackets"),
        ({"webhook_secret_file": Path("/nonexistent/secret")}, "cannot read the webhook secret /nonexistent/secret"),
        ({"git_url": "--upload-pack=touch /tmp/x"}, "invalid Git URL"),
        ({"git_url": "file:///repo.git", "git_ref": "a:b"}, "invalid Git ref"),
        ({"notify_urls_file": Path("/nonexistent/urls")}, "cannot read the notification URLs /nonexistent/urls"),
        ({"path_prefix": "/a b"}, "path prefix '/a b'"),
    ],
)
def test_bad_settings_exit_2_without_touching_an_engine(
    settings: RunSettings, changes: dict[str, Any], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    connect = Connector()
    assert Manager(replace(settings, **changes), connect=connect, handle_signals=False).run() == EXIT_CANNOT_START
    assert connect.calls == []
    assert connect.engine.requests == 0
    assert any(message in m for m in errors_logged(capsys.readouterr().err))


def test_a_webhook_secret_file_that_is_a_folder_exits_2(
    settings: RunSettings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    connect = Connector()
    manager = Manager(replace(settings, webhook_secret_file=tmp_path), connect=connect, handle_signals=False)
    assert manager.run() == EXIT_CANNOT_START
    assert connect.calls == []
    assert any("cannot read the webhook secret" in m for m in errors_logged(capsys.readouterr().err))


def test_no_engine_exits_2(settings: RunSettings, capsys: pytest.CaptureFixture[str]) -> None:
    connect = Connector(error=EngineUnavailable("cannot reach the engine at unix:///nowhere.sock: refused"))
    assert Manager(settings, connect=connect, handle_signals=False).run() == EXIT_CANNOT_START
    assert connect.calls == [("unix:///nowhere.sock", None)]
    assert any(m.startswith("cannot reach the engine: ") for m in errors_logged(capsys.readouterr().err))


def test_an_engine_that_does_not_answer_the_ping_exits_2_and_its_client_is_closed(settings: RunSettings) -> None:
    connect = Connector(Engine(reachable=False))
    assert Manager(settings, connect=connect, handle_signals=False).run() == EXIT_CANNOT_START
    assert connect.engine.closed == 1


def test_lease_timings_that_do_not_fit_exit_2(settings: RunSettings, capsys: pytest.CaptureFixture[str]) -> None:
    connect = Connector()
    bad = replace(settings, lease_s=2.0, renew_deadline_s=5.0)
    assert Manager(bad, connect=connect, handle_signals=False).run() == EXIT_CANNOT_START
    # The lease's own client has a timeout inside the renew deadline.
    assert connect.calls == [("unix:///nowhere.sock", None), ("unix:///nowhere.sock", 2)]
    assert connect.engine.closed == 2
    assert any("renew_deadline_s" in m for m in errors_logged(capsys.readouterr().err))


def test_an_address_in_use_exits_2_and_writes_nothing(
    settings: RunSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        connect = Connector()
        manager = Manager(replace(settings, listen=f"127.0.0.1:{port}"), connect=connect, handle_signals=False)
        assert manager.run() == EXIT_CANNOT_START
    assert connect.engine.writes == []
    assert connect.engine.closed == 2
    assert any(f"cannot listen on 127.0.0.1:{port}" in m for m in errors_logged(capsys.readouterr().err))


# --- running in-process ----------------------------------------------------------------------------


class Running:
    """``manager.run()`` on a thread; ``code`` once it returned."""

    def __init__(self, manager: Manager) -> None:
        self.manager = manager
        self.code: int | None = None
        self.thread = threading.Thread(target=self._run, name="manager-under-test", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.code = self.manager.run()

    def wait(self, timeout: float = 10.0) -> int:
        self.thread.join(timeout)
        assert self.code is not None, "Manager.run did not return"
        return self.code

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.manager.port}{path}", timeout=2) as answer:
                return int(answer.status), answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def status(self) -> dict[str, Any]:
        code, body = self.get("/status")
        assert code == 200
        found: dict[str, Any] = json.loads(body)
        return found


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except OSError:  # not listening yet
            pass
        time.sleep(0.02)
    raise AssertionError(f"not true within {timeout} s")


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


def test_the_leader_serves_writes_and_releases_the_lease_on_stop(
    settings: RunSettings, start: Callable[[Manager], Running]
) -> None:
    engine = Engine()
    running = start(Manager(settings, connect=Connector(engine), handle_signals=False))
    wait_for(lambda: running.get("/readyz")[0] == 200 and running.status()["leader"])
    assert running.get("/healthz") == (200, b"ok\n")
    wait_for(lambda: "unit-net" in engine.network_names())
    status = running.status()
    assert (status["identity"], status["leader_identity"], status["instance"]) == ("me", "me", INSTANCE)
    assert "git" not in status
    assert b"reconciler_leader 1.0" in running.get("/metrics")[1]
    assert running.get("/hooks/git")[0] == 405  # GET; a POST finds no webhook without --git-url

    running.manager.stop()
    assert running.wait() == EXIT_STOPPED
    assert engine.lease_holder() == ""  # released: a follower takes over at its next retry
    assert engine.closed == 2


def test_a_follower_reports_the_leader_and_writes_nothing(
    settings: RunSettings, start: Callable[[Manager], Running]
) -> None:
    engine = Engine()
    LeaseStore(engine).create(INSTANCE, "other", 3600.0)  # type: ignore[arg-type]
    # A follower trusts a lease's duration only up to 4 of its own leases: 120 s here, not 3600 s.
    patient = replace(settings, lease_s=30.0, renew_deadline_s=20.0)
    running = start(Manager(patient, connect=Connector(engine), handle_signals=False))
    wait_for(lambda: running.get("/readyz")[0] == 200)
    status = running.status()
    assert (status["leader"], status["leader_identity"]) == (False, "other")
    assert [o["key"] for o in status["objects"]] == ["Network/unit-net"]
    assert "unit-net" not in engine.network_names()
    running.manager.stop()
    assert running.wait() == EXIT_STOPPED
    assert engine.lease_holder() == "other"  # not ours to release


def test_a_lost_lease_stops_everything_and_exits_3(settings: RunSettings, start: Callable[[Manager], Running]) -> None:
    engine = Engine()
    manager = Manager(settings, connect=Connector(engine), handle_signals=False)
    running = start(manager)
    wait_for(lambda: running.status()["leader"])
    engine.give_lease_to("usurper")
    assert running.wait() == EXIT_LEASE_LOST
    assert manager.lease_lost
    assert engine.lease_holder() == "usurper"  # a replica that lost the lease does not release it
    metrics = manager.metrics.render()
    assert b"reconciler_leader 0.0" in metrics
    assert b'reconciler_errors_total{stage="lease"} 1.0' in metrics


def test_without_leader_election_one_client_and_no_lease(
    settings: RunSettings, start: Callable[[Manager], Running]
) -> None:
    connect = Connector()
    running = start(Manager(replace(settings, leader_election=False), connect=connect, handle_signals=False))
    wait_for(lambda: "unit-net" in connect.engine.network_names())
    assert running.status()["leader_identity"] == "me"
    running.manager.stop()
    assert running.wait() == EXIT_STOPPED
    assert connect.calls == [("unix:///nowhere.sock", None)]
    assert connect.engine.lease_holder() is None


def test_sigterm_stops_the_run_with_0_and_the_previous_handler_comes_back(settings: RunSettings) -> None:
    assert threading.current_thread() is threading.main_thread()
    before = signal.getsignal(signal.SIGTERM)
    manager = Manager(replace(settings, leader_election=False), connect=Connector())

    def terminate() -> None:
        wait_for(lambda: manager.port is not None)
        handler = signal.getsignal(signal.SIGTERM)
        if getattr(handler, "__self__", None) is manager:
            os.kill(os.getpid(), signal.SIGTERM)
        else:  # never kill the test run: a missing handler fails below instead
            manager.stop()
            raise AssertionError(f"SIGTERM is handled by {handler!r}, not by the manager")

    sender = threading.Thread(target=terminate, daemon=True)
    sender.start()
    assert manager.run() == EXIT_STOPPED
    sender.join(5)
    assert signal.getsignal(signal.SIGTERM) is before
