"""The command line turns Python's cycle collector off for its short commands (``cli.app.main``: it
spent ~10% of a ``diff`` finding almost no garbage), and the controller, which lives on, turns it back
on; every command's objects are frozen before the interpreter's last collection at exit, which would
walk them all again (issue 18). Each checked in a process of its own, as the ``reconciler`` command
runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = (
    "import atexit, gc, sys\n"
    "atexit.register(lambda: print('GC_ENABLED', gc.isenabled(), gc.get_freeze_count(), file=sys.stderr))\n"
    "from reconciler.cli.app import main\n"
    "sys.argv = ['reconciler', *sys.argv[1:]]\n"
    "main()\n"
)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def collector_at_exit(*argv: str) -> tuple[bool, subprocess.CompletedProcess[str]]:
    """Whether the collector was on at exit; the objects were frozen by then, whatever the command."""
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=120)
    [line] = [line for line in done.stderr.splitlines() if line.startswith("GC_ENABLED")]
    _, enabled, frozen = line.split()
    assert int(frozen) > 10_000, line  # the modules, classes and models of the command
    return enabled == "True", done


@pytest.mark.parametrize("argv", [["validate", str(EXAMPLES)], ["--help"]], ids=" ".join)
def test_a_short_command_runs_without_the_cycle_collector(argv: list[str]) -> None:
    enabled, done = collector_at_exit(*argv)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not enabled


def test_the_controller_runs_with_it(tmp_path: Path) -> None:
    # No manifests: the controller stops at its start (exit 2), after turning the collector on.
    argv = ["--docker-host", f"unix://{tmp_path}/no.sock", "run", "--manifests", str(tmp_path), "--listen",
            "127.0.0.1:0", "--no-leader-election"]  # fmt: skip
    enabled, done = collector_at_exit(*argv)
    assert done.returncode == 2 and "no manifests" in done.stderr, done.stderr[-2000:]
    assert enabled
