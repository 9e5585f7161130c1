"""``Resource.key`` and ``Resource.swarm_name`` are computed once per manifest (issue 18: the cross
checks, the compile and the revision asked ~10,000 times a load at 1,000 manifests). The models are
frozen, so the cached values are the values computed from the fields; caching them changes neither
equality nor what a manifest serialises to."""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.core.keys import ResourceKey
from reconciler.core.swarm_names import scoped
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.loading import load_manifests

API = "reconciler.swarm/v1alpha1"


def _load(tmp_path: Path) -> list[Resource]:
    (tmp_path / "data.txt").write_text("x\n")
    docs = [
        {"kind": "Network", "metadata": {"name": "ext"}, "spec": {"external": True}},
        {"kind": "Network", "metadata": {"name": "own", "namespace": "wp"}, "spec": {}},
        {"kind": "Secret", "metadata": {"name": "ext", "namespace": "wp"}, "spec": {"external": True}},
        {"kind": "Secret", "metadata": {"name": "own"}, "spec": {"file": "data.txt"}},
        {"kind": "Service", "metadata": {"name": "web", "namespace": "wp"}, "spec": {"image": "x:1"}},
        {"kind": "Route", "metadata": {"name": "web"}, "spec": {"service": "wp_web", "port": 80, "hosts": ["a.test"]}},
    ]
    (tmp_path / "all.yaml").write_text(yaml.safe_dump_all([{"apiVersion": API, **d} for d in docs]))
    return list(load_manifests(tmp_path))


def test_cached_names_are_the_names_computed_from_the_fields(tmp_path: Path) -> None:
    for resource in _load(tmp_path):
        fresh_key = ResourceKey.of(resource.KIND, resource.metadata.name, resource.metadata.namespace)
        fresh_name = resource.metadata.name if resource.external else scoped(resource.namespace, resource.name)
        assert (resource.key, resource.swarm_name) == (fresh_key, fresh_name)
        assert (resource.key, resource.swarm_name) == (fresh_key, fresh_name)  # asked again: the cached values


def test_caching_changes_neither_equality_nor_the_serialised_form(tmp_path: Path) -> None:
    asked, fresh = _load(tmp_path), _load(tmp_path)
    for resource in asked:
        _ = resource.key, resource.swarm_name
    assert asked == fresh
    assert [r.model_dump(mode="json", by_alias=True) for r in asked] == [
        r.model_dump(mode="json", by_alias=True) for r in fresh
    ]
    assert [r.model_dump_json(by_alias=True) for r in asked] == [r.model_dump_json(by_alias=True) for r in fresh]
    assert all("key" not in r.model_dump() and "swarm_name" not in r.model_dump() for r in asked)
