"""``apply``'s exit codes that mean "nothing was changed on purpose" (issue 16): 4 when the person answers
"n" at the prompt, 5 for ``--dry-run`` with changes to make, 0 for ``--dry-run`` with none; distinct from
1 (a change failed). The CLI runs against the in-memory swarm, on a pretend terminal for the prompt."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli import apply as apply_module
from reconciler.cli import engine_read
from reconciler.cli.app import cli
from reconciler.cli.context import EXIT_DECLINED, EXIT_OK, EXIT_PENDING
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"


@pytest.fixture
def swarm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> FakeSwarm:
    fake = FakeSwarm()
    # What apply's engine-reading thread connects with (cli.engine_read).
    monkeypatch.setattr(engine_read, "connect", lambda docker_host: fake)
    monkeypatch.setattr(fake, "close", lambda: None, raising=False)  # the CLI closes its client at the end
    (tmp_path / "m.yaml").write_text(
        yaml.safe_dump({"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}})
    )
    return fake


def test_declining_at_the_prompt_exits_4_and_changes_nothing(
    swarm: FakeSwarm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # apply asks only on a terminal; CliRunner's stdin is not one, so apply's view of it is replaced.
    monkeypatch.setattr(apply_module, "sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))
    result = CliRunner().invoke(cli, ["apply", str(tmp_path)], input="n\n")
    assert result.exit_code == EXIT_DECLINED == 4, result.output
    assert "Declined: nothing was changed." in result.stderr
    assert swarm.writes == []


def test_a_dry_run_with_changes_exits_5_and_without_exits_0(swarm: FakeSwarm, tmp_path: Path) -> None:
    pending = CliRunner().invoke(cli, ["apply", "--dry-run", str(tmp_path)])
    assert pending.exit_code == EXIT_PENDING == 5, pending.output
    assert swarm.writes == []
    assert CliRunner().invoke(cli, ["apply", "--yes", str(tmp_path)]).exit_code == EXIT_OK
    settled = CliRunner().invoke(cli, ["apply", "--dry-run", str(tmp_path)])
    assert settled.exit_code == EXIT_OK, settled.output
