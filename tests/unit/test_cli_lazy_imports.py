"""Process start: ``reconciler --help`` and ``validate`` import only what they need (issue 18)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("docker", "requests", "prometheus_client", "tenacity", "watchfiles", "http.server")


def imported_after(*argv: str) -> set[str]:
    code = (
        "import sys\n"
        "from reconciler.cli.app import cli\n"
        f"try:\n    cli.main(args={list(argv)!r}, prog_name='reconciler')\nexcept SystemExit:\n    pass\n"
        f"print('IMPORTED=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    [line] = [line for line in done.stdout.splitlines() if line.startswith("IMPORTED=")]
    return set(filter(None, line.removeprefix("IMPORTED=").split(",")))


def test_help_imports_none_of_the_engine_or_controller_stack() -> None:
    assert imported_after("--help") == set()


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
