"""The demo opens no port on the machine (issue 16): Swarm cannot bind a published port to one address,
so the adapted examples publish none, and the demo says so for each service that had some."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.lab.demo import adapt_examples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_adapted_examples_publish_no_port_and_say_which_were_left_out(tmp_path: Path) -> None:
    notes = adapt_examples(EXAMPLES, tmp_path / "adapted", "/var/tmp/lab/docker.sock", "lab/standin:1")
    assert "Service/traefik: ports 80, 443, 8082 not published" in "\n".join(notes)
    for path in (tmp_path / "adapted").rglob("*.yaml"):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc and doc.get("kind") == "Service":
                assert "ports" not in doc["spec"], (path.name, doc["metadata"]["name"])
