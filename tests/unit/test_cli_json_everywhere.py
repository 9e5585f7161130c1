"""``-o json`` gives one JSON document on stdout on every path, errors included, with the exit code of
the CLI table (README, "Exit codes"). A newcomer scripting ``diff -o json`` got nothing on stdout when
the engine was down; and ``validate /nonexistent`` read as an invalid manifest at a fake ``1:1``.

Run through the real entry point (``python -m reconciler``), as a script would: usage errors are turned
into one line (and one JSON document) by ``cli.app.main``, outside click's own processing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = str(REPO / "examples")
NO_SOCKET = "unix:///nonexistent/json/docker.sock"


def reconciler(*args: str, cwd: Path | None = None) -> tuple[int, Any, str]:
    env = {**os.environ, "DOCKER_HOST": NO_SOCKET}
    proc = subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60, check=False)  # fmt: skip
    return proc.returncode, json.loads(proc.stdout), proc.stderr  # exactly one JSON document, or this fails


ENGINE_DOWN = "no Docker engine socket at /nonexistent/json/docker.sock"


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        (["diff", EXAMPLES], 2, ENGINE_DOWN),
        (["apply", EXAMPLES, "--yes"], 2, ENGINE_DOWN),
        (["apply", EXAMPLES, "--dry-run"], 2, ENGINE_DOWN),
        (["status", EXAMPLES], 2, ENGINE_DOWN),
        (["status", "--controller", "http://127.0.0.1:9"], 2, "cannot read http://127.0.0.1:9/status"),
        (["diff", "/nonexistent/manifests"], 2, "no such file or folder: /nonexistent/manifests"),
        (["validate", "/nonexistent/manifests"], 2, "no such file or folder: /nonexistent/manifests"),
        (["render", "Service/nope", EXAMPLES], 2, "no Service 'nope' under"),
        (["diff", "--bogus"], 2, "No such option '--bogus'"),
        (["validate", "--strict=maybe"], 2, "Option '--strict' does not take a value"),
    ],
    ids=lambda v: "-".join(v) if isinstance(v, list) else None,
)
def test_errors_are_one_json_document_with_the_exit_code(args: list[str], code: int, says: str) -> None:
    for argv in (["-o", "json", *args], [*args, "--output=json"]):
        exit_code, document, stderr = reconciler(*argv)
        assert exit_code == code, (argv, stderr)
        assert set(document) == {"error", "exit_code"} and document["exit_code"] == code, document
        assert says in document["error"], document
        assert says in stderr  # people still read it on stderr


def test_an_empty_folder_is_an_error_document(tmp_path: Path) -> None:
    exit_code, document, _ = reconciler("-o", "json", "diff", str(tmp_path))
    assert exit_code == 2 and "no manifests (*.yaml, *.yml) found" in document["error"]


def test_schema_out_says_what_it_wrote_as_json(tmp_path: Path) -> None:
    exit_code, document, _ = reconciler("-o", "json", "schema", "--out", str(tmp_path / "crds"))
    assert exit_code == 0
    assert sorted(Path(p).name for p in document["wrote"]) == sorted(p.name for p in (tmp_path / "crds").iterdir())


def test_the_text_view_has_no_json(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "reconciler", "validate", str(tmp_path / "nope")],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert (proc.returncode, proc.stdout) == (2, "")
    assert proc.stderr.startswith(f"error: no such file or folder: {tmp_path / 'nope'}")
    assert ":1:1" not in proc.stderr
