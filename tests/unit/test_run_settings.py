"""``reconciler run``'s options → ``RunSettings`` → ``Manager(settings).run()`` → the exit code: each
option lands in its field, the defaults are the dataclass's, and the manager's code is the process's.
The manager is replaced by a recorder: nothing starts."""

from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path
from typing import ClassVar

import pytest
from click.testing import CliRunner

from reconciler.cli.app import cli
from reconciler.runtime import manager as manager_module
from reconciler.runtime.manager import EXIT_CANNOT_START, EXIT_LEASE_LOST, EXIT_STOPPED
from reconciler.runtime.settings import RunSettings, default_identity


class Recorder:
    """Stands in for ``Manager``: keeps the settings it was built with and answers ``code``."""

    code: ClassVar[int] = EXIT_STOPPED
    seen: ClassVar[list[RunSettings]] = []

    def __init__(self, settings: RunSettings) -> None:
        type(self).seen.append(settings)

    def run(self) -> int:
        return type(self).code


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> type[Recorder]:
    # Replaced where it is defined: run imports it when it runs (its --help needs no controller stack).
    monkeypatch.setattr(manager_module, "Manager", Recorder)
    monkeypatch.setattr(Recorder, "seen", [])
    monkeypatch.setattr(Recorder, "code", EXIT_STOPPED)
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    return Recorder


def invoke(*args: str) -> int:
    result = CliRunner().invoke(cli, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code


def test_without_options_the_settings_are_the_defaults(recorder: type[Recorder]) -> None:
    assert invoke("run") == 0
    (got,) = recorder.seen
    assert got.identity == f"{socket.gethostname()}-{os.getpid()}"
    assert got == RunSettings(identity=got.identity)


def test_every_option_lands_in_its_field(recorder: type[Recorder], tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    argv = [
        "--docker-host", "tcp://proxy:2375", "--instance", "prod",
        "run",
        "--manifests", "stacks", "--listen", "127.0.0.1:9200", "--resync", "30", "--prune", "--allow-empty",
        "--max-prune", "3", "--timeout", "45", "--git-url", "https://example.org/r.git", "--git-ref", "v2",
        "--git-interval", "15", "--git-dir", str(tmp_path / "git"), "--webhook-secret-file", str(secret),
        "--identity", "replica-1", "--lease", "20", "--renew-deadline", "12", "--retry", "3",
        "--no-leader-election", "--log-level", "debug",
    ]  # fmt: skip
    assert invoke(*argv) == 0
    (got,) = recorder.seen
    assert got == RunSettings(
        manifests=Path("stacks"),
        docker_host="tcp://proxy:2375",
        instance="prod",
        resync_s=30.0,
        prune=True,
        allow_empty=True,
        max_prune=3,
        dependency_timeout_s=45.0,
        listen="127.0.0.1:9200",
        log_level="debug",
        git_url="https://example.org/r.git",
        git_ref="v2",
        git_interval_s=15.0,
        git_dir=tmp_path / "git",
        webhook_secret_file=secret,
        leader_election=False,
        identity="replica-1",
        lease_s=20.0,
        renew_deadline_s=12.0,
        retry_s=3.0,
    )


def test_the_docker_host_comes_from_the_environment_too(
    recorder: type[Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///run/proxy.sock")
    assert invoke("run") == 0
    assert recorder.seen[0].docker_host == "unix:///run/proxy.sock"


@pytest.mark.parametrize("code", [EXIT_STOPPED, EXIT_CANNOT_START, EXIT_LEASE_LOST])
def test_the_managers_code_is_the_exit_code(recorder: type[Recorder], code: int) -> None:
    recorder.code = code
    assert invoke("run") == code


@pytest.mark.parametrize(
    "argv",
    [
        ["--resync", "0.5"],
        ["--max-prune", "-1"],
        ["--lease", "0"],
        ["--retry", "0.01"],
        ["--log-level", "trace"],
        ["--no-such-option"],
    ],
)
def test_options_out_of_range_are_usage_errors_and_build_no_manager(recorder: type[Recorder], argv: list[str]) -> None:
    assert invoke("run", *argv) == 2
    assert recorder.seen == []


def test_run_settings_are_frozen_and_name_their_units() -> None:
    settings = RunSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.listen = ":9200"  # type: ignore[misc]
    durations = {f.name for f in dataclasses.fields(RunSettings) if f.type in ("float", float)}
    assert durations == {
        "resync_s", "dependency_timeout_s", "git_interval_s", "lease_s", "renew_deadline_s", "retry_s", "notify_repeat_s",
    }  # fmt: skip


def test_the_default_identity_is_host_and_pid() -> None:
    assert default_identity() == f"{socket.gethostname()}-{os.getpid()}"
    assert RunSettings().identity == default_identity()
