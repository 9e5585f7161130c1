"""Process start: ``reconciler --help``, every command's ``--help`` and ``validate`` import only what
they need (issue 18)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("docker", "requests", "prometheus_client", "tenacity", "watchfiles", "http.server")
# What no ``--help`` needs: the models (pydantic), the engine and state, the YAML parser, rich, the
# docker SDK and the controller's stack. A command's options are read from its module, so each command
# module imports these inside the command's body.
NOT_FOR_HELP = (
    *HEAVY,
    "pydantic",
    "yaml",
    "rich",
    "reconciler.manifests.loading",
    "reconciler.manifests.kinds",
    "reconciler.state.plan",
    "reconciler.engine.reconcile",
    "reconciler.runtime.manager",
    "reconciler.importing.compose_import",
    "reconciler.importing.live_swarm",
    "urllib.request",  # only `status --controller` speaks HTTP as a client
)
EVERY_HELP = [
    ["--help"],
    *([name, "--help"] for name in ("validate", "diff", "apply", "status", "run", "render", "schema", "doctor")),
    ["import", "--help"],
    ["import", "swarm", "--help"],
    ["import", "compose", "--help"],
]


def imported_after(*argv: str, watched: tuple[str, ...] = HEAVY) -> set[str]:
    code = (
        "import sys\n"
        "from reconciler.cli.app import cli\n"
        f"try:\n    cli.main(args={list(argv)!r}, prog_name='reconciler')\nexcept SystemExit:\n    pass\n"
        f"print('IMPORTED=' + ','.join(m for m in {watched!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    [line] = [line for line in done.stdout.splitlines() if line.startswith("IMPORTED=")]
    return set(filter(None, line.removeprefix("IMPORTED=").split(",")))


def test_help_imports_none_of_the_engine_or_controller_stack() -> None:
    assert imported_after("--help") == set()


@pytest.mark.parametrize("argv", EVERY_HELP, ids=" ".join)
def test_every_help_imports_no_models_engine_or_sdk(argv: list[str]) -> None:
    assert imported_after(*argv, watched=NOT_FOR_HELP) == set()


def test_the_watch_list_names_real_modules() -> None:
    """A renamed module would make the test above pass for nothing."""
    import importlib.util

    assert all(importlib.util.find_spec(name) is not None for name in NOT_FOR_HELP)


def test_validate_imports_none_of_the_engine_or_controller_stack(tmp_path: object) -> None:
    assert imported_after("validate", "examples") == set()


def test_every_command_is_listed_and_loads() -> None:
    from click.testing import CliRunner

    from reconciler.cli.app import _COMMANDS, cli

    listed = CliRunner().invoke(cli, ["--help"]).stdout
    for name in _COMMANDS:
        assert name in listed
        assert CliRunner().invoke(cli, [name, "--help"]).exit_code == 0


def test_the_controller_loads_notifications_and_the_dashboard_only_when_used() -> None:
    """apprise, jinja2 and rich add to a controller's imports (issue 18): a controller without
    notification URLs never loads apprise; jinja2 comes with the first dashboard page; rich (the
    command line's views) only when ``run`` fails before it starts."""
    code = (
        "import sys\n"
        "from reconciler.cli.run import run\n"
        "from reconciler.runtime.manager import Manager\n"
        "from reconciler.runtime.dashboard import Dashboard\n"
        "from reconciler.runtime.journal import Journal\n"
        "board = Dashboard(dict, lambda key: None, Journal())\n"
        "before = sorted(m for m in ('apprise', 'jinja2', 'rich') if m in sys.modules)\n"
        "board.env.get_template('index.html')  # what every page renders with\n"
        "print(before, 'jinja2' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split("\n")[0] == "[] True", done.stderr[-2000:]


def test_the_plan_view_imports_none_of_what_applies() -> None:
    """``diff`` prints a plan: the plan view names apply's result types for type checking only."""
    apply_only = ("reconciler.engine.applying", "reconciler.engine.fixpoint", "reconciler.engine.rollout")
    code = f"import sys\nimport reconciler.cli.plan_view\nprint([m for m in {apply_only!r} if m in sys.modules])\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr[-2000:]


@pytest.mark.parametrize("command", ["diff", "status", "apply"])
def test_planning_commands_import_none_of_what_applies(tmp_path: Path, command: str) -> None:
    """``diff`` and ``status`` plan (``engine.observe_plan``), and so does ``apply`` until it has
    something to apply: nothing of applying, its scheduling, the fixpoint check or the rollout wait is
    imported, up to the engine's answer (here: no engine)."""
    (tmp_path / "net.yaml").write_text(
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: net}\nspec: {}\n"
    )
    apply_only = ("reconciler.engine.applying", "reconciler.engine.scheduling", "reconciler.engine.fixpoint",
                  "reconciler.engine.rollout", "reconciler.engine.reconcile", "reconciler.manifests.loading")  # fmt: skip
    argv = ("--docker-host", f"unix://{tmp_path}/no.sock", command, str(tmp_path))
    expected = {"reconciler.manifests.loading"}  # it got that far
    if command == "apply":
        expected.add("reconciler.engine.scheduling")  # the defaults of --apply-workers (the standard library only)
    assert imported_after(*argv, watched=apply_only) == expected


@pytest.mark.parametrize("argv", [["diff"], ["apply", "--yes"], ["apply", "--yes", "--dry-run"]], ids=" ".join)
def test_planning_and_applying_on_a_pipe_import_no_rich(tmp_path: Path, argv: list[str]) -> None:
    """Off a terminal (a pipe, a file, the bench) the plan, the progress and the summary are written
    without rich (``cli.styled``, issue 18); here against the in-memory swarm, stdout a pipe."""
    (tmp_path / "net.yaml").write_text(
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: net}\nspec: {}\n"
    )
    code = (
        "import sys\n"
        "from reconciler.cli import engine_read\n"
        "from reconciler.swarm.fake import FakeSwarm\n"
        "fake = FakeSwarm()\n"
        "fake.close = lambda: None\n"
        "engine_read.connect = lambda docker_host: fake\n"
        "from reconciler.cli.app import cli\n"
        f"code = cli.main(args={[*argv, str(tmp_path)]!r}, prog_name='reconciler', standalone_mode=False)\n"
        "print('IMPORTED=' + ','.join(m for m in ('rich',) if m in sys.modules), 'EXIT=%s' % code, len(fake.writes))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE")}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    [line] = [line for line in done.stdout.splitlines() if line.startswith("IMPORTED=")]
    writes = 1 if argv == ["apply", "--yes"] else 0
    assert line == f"IMPORTED= EXIT={5 if '--dry-run' in argv else 1 if argv == ['diff'] else 0} {writes}", done
    assert "+ Network/net" in done.stdout and "Plan: 1 to create" in done.stdout
