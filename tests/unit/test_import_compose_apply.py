"""What ``import compose`` writes is applied as is: on the in-memory swarm, each corpus entry that
needs no object made beforehand (external networks, secrets, volumes) applies with ``apply --yes``
and then plans nothing (``apply --dry-run`` exits 0). With ``--stack`` the stack's networks are
external under their Swarm names (``compose_objects._stack_network``): they are made first, as
``docker stack deploy`` would have made them."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cli import engine_read
from reconciler.cli.app import cli
from reconciler.importing.compose_import import import_compose, write_copies
from reconciler.importing.yaml_emit import write_documents
from reconciler.swarm.fake import FakeSwarm

CORPUS = Path(__file__).resolve().parents[1] / "data" / "compose"
SELF_CONTAINED = [
    "03-traefik3-labels",
    "04-multi-file-merge",
    "05-interpolation-dotenv",
    "07-global-placement",
    "08-healthchecks",
    "09-ports",
    "11-policies-runtime",
    "13-runtime-settings",
]


@pytest.mark.parametrize("entry", SELF_CONTAINED)
@pytest.mark.parametrize("stack", [None, "s"])
def test_imported_manifests_apply_and_then_plan_nothing(
    entry: str, stack: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = CORPUS / entry
    files = [str(folder / n) for n in ("compose.yml", "compose.prod.yml") if (folder / n).is_file()]
    result = import_compose(files, stack, tmp_path, environ={})
    write_documents(result.documents, tmp_path)
    write_copies(result, tmp_path)
    fake = FakeSwarm()
    for document in result.documents:
        if document["kind"] == "Network" and document["spec"].get("external"):
            fake.create_network({"Name": document["metadata"]["name"], "Driver": "overlay", "Scope": "swarm"})
    monkeypatch.setattr(engine_read, "connect", lambda docker_host: fake)  # what apply reads the engine with
    monkeypatch.setattr(fake, "close", lambda: None, raising=False)  # the CLI closes its client at the end
    applied = CliRunner().invoke(cli, ["apply", "--yes", "--no-wait", str(tmp_path)])
    assert applied.exit_code == 0, applied.output
    assert fake.writes
    settled = CliRunner().invoke(cli, ["apply", "--dry-run", str(tmp_path)])
    assert settled.exit_code == 0, settled.output
