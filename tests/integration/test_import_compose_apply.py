"""What ``import compose`` writes applies as is on a real engine, and then plans nothing: the lab's side
of ``tests/unit/test_import_compose_apply.py`` (there on the in-memory swarm), with and without
``--stack``. The stack's networks are external under their Swarm names
(``compose_objects._stack_network``): they are made first, as ``docker stack deploy`` would have made
them; the stack is named after the test's prefix. Without ``--stack`` the networks are Network
manifests the reconciler creates, under the compose names: the test first checks that the lab holds
none of those names, so every object either way is the test's own (removed by the ``ws`` fixture, by
its instance label)."""

from __future__ import annotations

import pytest

from reconciler.importing.compose_import import import_compose, write_copies
from reconciler.importing.yaml_emit import write_documents
from tests.integration.conftest import Workspace
from tests.unit.test_import_compose_apply import CORPUS, SELF_CONTAINED


@pytest.mark.parametrize("entry", SELF_CONTAINED)
@pytest.mark.parametrize("stack", [True, False], ids=["stack", "no-stack"])
def test_imported_manifests_apply_on_the_engine_and_then_plan_nothing(
    ws: Workspace, busybox: str, entry: str, stack: bool
) -> None:
    assert busybox == "lab/busybox:1"  # the image the corpus entries run, built in the lab
    folder = CORPUS / entry
    files = [str(folder / n) for n in ("compose.yml", "compose.prod.yml") if (folder / n).is_file()]
    result = import_compose(files, ws.prefix if stack else None, ws.folder, environ={})
    if not stack:
        names = {d["metadata"]["name"] for d in result.documents if d["kind"] in ("Network", "Service")}
        taken = {s["Spec"]["Name"] for s in ws.client.api.services()} | {n["Name"] for n in ws.client.api.networks()}
        assert not names & taken, f"the lab already holds {sorted(names & taken)}: this test would not own them"
    write_documents(result.documents, ws.folder)
    write_copies(result, ws.folder)
    for document in result.documents:
        if document["kind"] == "Network" and document["spec"].get("external"):
            name = document["metadata"]["name"]
            assert name.startswith(f"{ws.prefix}_")  # a stack network: the test's own
            ws.client.api.create_network(name, driver="overlay", scope="swarm")
    applied = ws.cli("apply", "--yes", "--no-wait", str(ws.folder))
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert "create" in applied.stdout
    settled = ws.cli("apply", "--dry-run", str(ws.folder))
    assert settled.exit_code == 0, settled.stdout + settled.stderr
    assert ws.cli("diff", str(ws.folder)).exit_code == 0
