"""``scripts/install`` alone leaves a .venv where the README's test commands work (a newcomer's report).

The README's first commands (``scripts/demo``, ``scripts/test``) both run ``scripts/install``; a newcomer who
ran it alone (or the demo) then found no pytest for ``pytest -m "not lab"``. The script is run here for real
in a copy of the project whose ``.venv/bin/python`` is a stand-in that records its arguments (no download):
it must install the ``dev`` extra, and that extra must hold what ``scripts/test`` imports before it runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_install(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    (tmp_path / "scripts").mkdir()
    shutil.copy2(REPO / "scripts" / "install", tmp_path / "scripts" / "install")
    calls = tmp_path / "calls.txt"
    fake = tmp_path / ".venv" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> {calls}\n')
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": "python3"}
    proc = subprocess.run([str(tmp_path / "scripts" / "install"), *args], capture_output=True, text=True,
                          env=env, timeout=60, check=False)  # fmt: skip
    return proc, calls.read_text().splitlines() if calls.exists() else []


def test_install_alone_installs_the_test_tools(tmp_path: Path) -> None:
    proc, calls = run_install(tmp_path)
    assert proc.returncode == 0, proc.stderr
    pip = [call for call in calls if call.startswith("-m pip install")]
    assert len(pip) == 1 and pip[0].endswith("-e .[dev]"), calls
    assert "pip install -e .[dev]" in proc.stdout  # it says what it installs
    # What scripts/test checks before it runs is in that extra.
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    names = {spec.split(">")[0].split("=")[0].strip() for spec in dev}
    tested = (REPO / "scripts" / "test").read_text()
    assert "python -c 'import reconciler, pytest, hypothesis'" in tested
    assert {"pytest", "hypothesis", "ruff", "mypy", "import-linter"} <= names


def test_install_refuses_an_unknown_option_naming_it(tmp_path: Path) -> None:
    proc, calls = run_install(tmp_path, "--bogus")
    assert proc.returncode == 2 and calls == []
    assert "unknown option '--bogus'" in proc.stderr
