"""``diff``, ``apply`` and ``status`` read the swarm on a thread while they import and load the
manifests (``cli.engine_read``, ``cli.session.planned_or_exit``; issue 18): what they print and their
exit codes are those of loading, then connecting, then observing, in turn. Against the in-memory
swarm, through the CLI."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result

from reconciler.cli import engine_read
from reconciler.cli.app import cli
from reconciler.swarm.fake import FakeSwarm
from reconciler.swarm.port import EngineUnavailable, Forbidden, Snapshot

API = "reconciler.swarm/v1alpha1"
COMMANDS = [("diff",), ("apply", "--yes"), ("status",)]


def network(name: str) -> dict[str, Any]:
    return {"apiVersion": API, "kind": "Network", "metadata": {"name": name}, "spec": {}}


class Engine:
    """What the CLI's ``connect`` gets, and on which thread it was asked."""

    def __init__(self, swarm: FakeSwarm | None = None, refuse: Exception | None = None) -> None:
        self.swarm = swarm or FakeSwarm()
        self.refuse = refuse
        self.threads: list[str] = []
        self.closed = 0
        self.swarm.close = self.close  # type: ignore[attr-defined]

    def close(self) -> None:
        self.closed += 1

    def connect(self, docker_host: str | None) -> FakeSwarm:
        self.threads.append(threading.current_thread().name)
        if self.refuse is not None:
            raise self.refuse
        return self.swarm


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Engine:
    made = Engine()
    monkeypatch.setattr(engine_read, "connect", made.connect)
    return made


@pytest.fixture
def absent(monkeypatch: pytest.MonkeyPatch) -> Engine:
    """An engine that is not there: connecting raises ``EngineUnavailable``."""
    made = Engine(refuse=EngineUnavailable("GET /version at unix:///nowhere: no such socket"))
    monkeypatch.setattr(engine_read, "connect", made.connect)
    return made


def run(*argv: str) -> Result:
    return CliRunner().invoke(cli, list(argv))


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_the_swarm_is_read_on_another_thread_and_planned_as_in_turn(
    engine: Engine, tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(network("net")))
    first = run(*command, str(tmp_path))
    assert engine.threads == ["engine-read"]
    assert engine.closed == 1
    expected = {"diff": 1, "apply": 0, "status": 1}[command[0]]  # differs; converged; missing
    assert first.exit_code == expected, first.output
    assert "Network/net" in first.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_invalid_manifests_are_reported_first_whatever_the_engine_said(
    absent: Engine, tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({**network("net"), "spec": {"driver": 7}}))
    out = run(*command, str(tmp_path))
    assert out.exit_code == 2, out.output
    assert "spec.driver" in out.stderr and "Nothing was changed" in out.stderr
    assert "no such socket" not in out.output


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_engine_that_does_not_answer_is_one_error_line_after_the_manifests_loaded(
    absent: Engine, tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(network("net")))
    out = run(*command, str(tmp_path))
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == "error: GET /version at unix:///nowhere: no such socket\n"
    assert absent.closed == 0


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_refused_observation_is_one_error_line_and_the_client_is_closed(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    def refused() -> Snapshot:
        raise Forbidden("GET /services: refused (403); the socket proxy needs SERVICES=1", 403)

    monkeypatch.setattr(engine.swarm, "snapshot", refused)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(network("net")))
    out = run(*command, str(tmp_path))
    assert (out.exit_code, out.stdout) == (2, "")
    assert out.stderr == "error: GET /services: refused (403); the socket proxy needs SERVICES=1\n"
    assert engine.closed == 1
    assert engine.swarm.writes == []


def test_a_missing_path_is_reported_without_asking_the_engine(engine: Engine, tmp_path: Path) -> None:
    out = run("diff", str(tmp_path / "nowhere"))
    assert out.exit_code == 2 and "no such file or folder" in out.stderr
    assert engine.threads == []


def test_a_bug_on_the_reading_thread_is_raised_in_the_command(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken() -> Snapshot:
        raise KeyError("Spec")

    monkeypatch.setattr(engine.swarm, "snapshot", broken)
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(network("net")))
    out = run("diff", str(tmp_path))
    assert isinstance(out.exception, KeyError)  # app.main turns it into "internal error" (exit 2)
