"""``Resource.external`` reads the spec's field values directly (issue 18: ``getattr`` of a field a
spec lacks goes through pydantic's slow missing-attribute path, on every Swarm name): it must say
what the field says, for every kind, and False for kinds without the field."""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.manifests.loading import load_manifests

API = "reconciler.swarm/v1alpha1"


def test_external_is_the_specs_flag_for_every_kind(tmp_path: Path) -> None:
    (tmp_path / "data.txt").write_text("x\n")
    docs = [
        {"kind": "Network", "metadata": {"name": "ext"}, "spec": {"external": True}},
        {"kind": "Network", "metadata": {"name": "own", "namespace": "wp"}, "spec": {}},
        {"kind": "Config", "metadata": {"name": "ext"}, "spec": {"external": True}},
        {"kind": "Config", "metadata": {"name": "own", "namespace": "wp"}, "spec": {"data": "x"}},
        {"kind": "Secret", "metadata": {"name": "ext", "namespace": "wp"}, "spec": {"external": True}},
        {"kind": "Secret", "metadata": {"name": "own"}, "spec": {"file": "data.txt"}},
        {"kind": "Volume", "metadata": {"name": "ext"}, "spec": {"external": True}},
        {"kind": "Volume", "metadata": {"name": "own", "namespace": "wp"}, "spec": {}},
        {"kind": "Service", "metadata": {"name": "web", "namespace": "wp"}, "spec": {"image": "x:1"}},
        {"kind": "Route", "metadata": {"name": "web"}, "spec": {"service": "wp_web", "port": 80, "hosts": ["a.test"]}},
        {"kind": "Middleware", "metadata": {"name": "gz"}, "spec": {"type": "compress"}},
    ]
    (tmp_path / "all.yaml").write_text(yaml.safe_dump_all([{"apiVersion": API, **d} for d in docs]))
    found = {(r.key, r.external, r.swarm_name) for r in load_manifests(tmp_path)}
    assert found == {
        ("Network/ext", True, "ext"),
        ("Network/wp/own", False, "wp_own"),
        ("Config/ext", True, "ext"),
        ("Config/wp/own", False, "wp_own"),
        ("Secret/wp/ext", True, "ext"),  # an external object keeps its own name, in a namespace too
        ("Secret/own", False, "own"),
        ("Volume/ext", True, "ext"),
        ("Volume/wp/own", False, "wp_own"),
        ("Service/wp/web", False, "wp_web"),
        ("Route/web", False, "web"),
        ("Middleware/gz", False, "gz"),
    }
