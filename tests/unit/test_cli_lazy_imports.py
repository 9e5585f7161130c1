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
