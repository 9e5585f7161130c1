"""``import swarm`` of services someone else deployed: label keys and values are anyone's text, so
what the import prints about them cannot drive the operator's terminal (a key holding ``ESC [2J``
cleared the screen and hid the findings above it); and a stack's folder below ``--out`` that is a
symbolic link is not written through; a Traefik rule nested thousands deep is a finding, not a crash."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.core.labels import STACK_NAMESPACE
from reconciler.importing.live_swarm import import_live, write_import
from reconciler.importing.traefik_labels import import_traefik_labels, parse_rule
from reconciler.state.snapshot import Snapshot


def test_findings_about_labels_and_env_with_terminal_escapes_are_shown_escaped() -> None:
    spec = {
        "Name": "web",
        "Labels": {"a\x1b[2J\x1b[Hb": "1", "title": "\x1b]0;pwned\x07"},
        "TaskTemplate": {"ContainerSpec": {"Image": "nginx:1.27", "Env": ["X=\x1b[31mred"]}},
    }
    imported = import_live(Snapshot(services=[{"ID": "w", "Version": {"Index": 1}, "Spec": spec}]))
    shown = [str(f) for f in imported.findings]
    assert sorted(f.field for f in imported.findings) == [
        "spec.env.X",
        "spec.labels.a\x1b[2J\x1b[Hb",
        "spec.labels.title",
    ]
    assert any("spec.labels.a\\x1b[2J\\x1b[Hb" in text for text in shown), shown
    assert not any(c in text for text in shown for c in "\x1b\x07")
    [document] = imported.documents  # the rest is kept
    assert document["spec"] == {"image": "nginx:1.27"}  # no env: {} or labels: {} left behind


def test_a_stack_folder_below_out_is_not_written_through_a_symbolic_link(tmp_path: Path) -> None:
    spec = {"Name": "wp_web", "Labels": {STACK_NAMESPACE: "wp"}, "TaskTemplate": {"ContainerSpec": {"Image": "nginx"}}}
    imported = import_live(Snapshot(services=[{"ID": "w", "Version": {"Index": 1}, "Spec": spec}]))
    elsewhere, out = tmp_path / "elsewhere", tmp_path / "out"
    elsewhere.mkdir()
    out.mkdir()
    (out / "wp").symlink_to(elsewhere)
    with pytest.raises(OSError, match="a symbolic link: not written through"):
        write_import(imported.documents, out)
    assert list(elsewhere.iterdir()) == []
    (out / "wp").unlink()
    assert write_import(imported.documents, out) == [out / "wp" / "service-web.yaml"]


@pytest.mark.parametrize("rule", ["(" * 5000 + "Host(`a.example`)" + ")" * 5000, "!" * 10000 + "Host(`a.example`)"])
def test_a_deeply_nested_traefik_rule_is_a_finding_not_a_crash(rule: str) -> None:
    labels = {"traefik.http.routers.r.rule": rule, "traefik.http.services.s.loadbalancer.server.port": "80"}
    imported = import_traefik_labels(labels, "web", network=lambda _: None)  # a RecursionError before
    assert imported.routes == []
    [problem] = imported.problems
    assert problem.label == "traefik.http.routers.r.rule" and len(problem.reason) < 300  # the rule is clipped


def test_a_rule_nested_a_few_levels_is_still_read() -> None:
    rule = "(" * 31 + "Host(`a.example`) || Host(`b.example`)" + ")" * 31 + " && PathPrefix(`/x`)"
    assert parse_rule(rule) == (["a.example", "b.example"], "/x")
