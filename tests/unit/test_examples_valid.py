"""The shipped ``examples/`` folder is a valid manifest set, through the loader, the ``validate``
command and the real ``python -m reconciler`` entry point."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from click.testing import CliRunner

from reconciler.cli.app import cli
from reconciler.cli.context import Settings
from reconciler.cli.validate import validate
from reconciler.manifests.loading import load_manifests

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples"
COUNTS = {
    "Network": 3,
    "Volume": 3,
    "Config": 1,
    "Secret": 2,
    "Service": 4,
    "Middleware": 1,
    "Route": 1,
    "VirtualIP": 1,
}
SUMMARY = (
    "16 manifests valid (3 Network, 3 Volume, 1 Config, 2 Secret, 4 Service, 1 Middleware, 1 Route, 1 VirtualIP).\n"
)


def _runner() -> CliRunner:
    if "mix_stderr" in inspect.signature(CliRunner).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


def test_examples_load() -> None:
    manifests = load_manifests(EXAMPLES)
    assert Counter(r.KIND for r in manifests) == COUNTS
    assert manifests.get("Route/wordpress") is not None
    # file contents are read at load time, relative to each manifest
    assert manifests.contents["Config/php-uploads"] == (EXAMPLES / "files" / "uploads.ini").read_bytes()
    assert set(manifests.contents) == {"Config/php-uploads", "Secret/db-password", "Secret/vrrp-password"}


def test_validate_examples_prints_the_counts() -> None:
    result = _runner().invoke(validate, [str(EXAMPLES)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == SUMMARY
    assert result.stderr == ""


def test_validate_examples_as_json() -> None:
    settings = Settings(docker_host=None, instance="reconciler", output="json")
    result = _runner().invoke(validate, [str(EXAMPLES)], obj=settings)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is True
    assert report["counts"] == COUNTS
    assert len(report["manifests"]) == 16
    assert "VirtualIP/cluster-ip" in report["manifests"]


def test_validate_one_example_file() -> None:
    result = _runner().invoke(validate, [str(EXAMPLES / "networks.yaml")])
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "3 manifests valid (3 Network).\n"


def test_group_validate_examples() -> None:
    result = _runner().invoke(cli, ["-o", "json", "validate", str(EXAMPLES)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"] == COUNTS


def test_python_m_reconciler_validate_examples() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "validate", "examples"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == SUMMARY
    assert "Traceback" not in done.stderr
