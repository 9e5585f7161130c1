"""examples/, adapted to the lab as scripts/demo does it, converges, and then diff finds nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest
import yaml
from click.testing import CliRunner

from reconciler.cli.app import cli
from tests.integration.conftest import cleanup_instance
from tests.lab import Lab
from tests.lab.demo import adapt_examples
from tests.lab.images import ensure_standin_image

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: Not the demo's instance ("reconciler"): a test touches only objects it made (issue 16).
INSTANCE = "examples-test"


@pytest.fixture
def adapted(lab: Lab, docker_client: docker.DockerClient, tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    # Swarm names are global: examples/ can run once per swarm. If the demo (or anyone) runs them in
    # this lab, their objects are not this test's to replace or prune.
    names = {s.name for s in docker_client.services.list()} | {n.name for n in docker_client.networks.list()}
    taken = sorted(names & {"wordpress", "db", "traefik", "traefik-socket-proxy", "web-servers", "backend"})
    if taken:
        pytest.skip(f"examples/ already run in this lab by someone else ({', '.join(taken)}): not touching them")
    target = tmp_path / "examples"
    notes = adapt_examples(EXAMPLES, target, lab.base_url.removeprefix("unix://"), ensure_standin_image(lab.env()))
    own_volumes(target)
    try:
        yield target, notes
    finally:
        cleanup_instance(docker_client, INSTANCE)


def own_volumes(folder: Path) -> None:
    """Volumes get names of their own: a volume's name hashes its driver options, and the demo's local
    volumes (never deleted, as no volume is) would be another instance's objects to this test. tmpfs-backed
    local volumes mount as well and hash differently."""
    for path in folder.rglob("*.yaml"):
        docs = [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
        for doc in docs:
            if doc["kind"] == "Volume":
                doc["spec"] = {**doc["spec"], "driver": "local", "driverOptions": {"type": "tmpfs", "device": "tmpfs"}}
        path.write_text(yaml.safe_dump_all(docs, sort_keys=False))


def run(lab: Lab, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--docker-host", lab.base_url, "--instance", INSTANCE, *args])
    return result.exit_code, result.stdout


def test_examples_converge_and_then_nothing_differs(lab: Lab, adapted: tuple[Path, list[str]]) -> None:
    folder, notes = adapted
    assert any("VirtualIP/cluster-ip: left out" in note for note in notes)
    assert any("NFS" in note for note in notes)
    assert any("Service/traefik: ports 80, 443, 8082 not published" in note for note in notes)
    code, out = run(lab, "apply", "--yes", "--timeout", "60", str(folder))
    assert code == 0, out
    code, out = run(lab, "diff", str(folder))
    assert code == 0, out
    assert "in sync" in out
    code, out = run(lab, "-o", "json", "status", str(folder))
    assert code == 0
    states = {o["key"]: o["state"] for o in json.loads(out)["objects"]}
    assert states["Service/wordpress"] == states["Network/web-servers"] == "in sync"
    assert len(states) == 10  # 3 networks, a config, 2 secrets, 4 services; volumes and routes ride in them
