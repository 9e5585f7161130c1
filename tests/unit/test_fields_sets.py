"""Shared fields sets (``manifests.fields_sets``, issue 18): a load with the parse cache gives models
that share equal sets of the fields given, and are otherwise the same as a fresh load's: equal,
dumped alike, the same ``model_fields_set``; sharing is safe only because every model is frozen."""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

from reconciler.manifests.fields_sets import share_fields_sets
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.parse_cache import ParseCache
from reconciler.manifests.registry import KINDS

API = "reconciler.swarm/v1alpha1"


def _models(base: type[pydantic.BaseModel]) -> set[type[pydantic.BaseModel]]:
    found = set()
    for sub in base.__subclasses__():
        found |= {sub, *_models(sub)}
    return found


def test_every_manifest_model_is_frozen() -> None:
    assert KINDS  # the registry imports every kind
    models = {m for m in _models(pydantic.BaseModel) if m.__module__.startswith("reconciler.manifests")}
    assert len(models) > 20
    assert sorted(m.__name__ for m in models if not m.model_config.get("frozen")) == []


def test_a_cached_load_shares_equal_sets_and_changes_nothing_else(tmp_path: Path) -> None:
    for i in range(4):
        (tmp_path / f"s{i}.yaml").write_text(
            f"apiVersion: {API}\nkind: Service\nmetadata: {{name: web{i}}}\nspec:\n  image: nginx:{i}\n"
            + ("  replicas: 2\n" if i % 2 else "  labels: {a: b}\n")
        )
    fresh = {m.resource.key: m.resource for m in load_manifests(tmp_path).items}
    shared = {m.resource.key: m.resource for m in load_manifests(tmp_path, ParseCache()).items}
    assert shared == fresh
    for key, resource in shared.items():
        assert resource.model_dump(mode="json") == fresh[key].model_dump(mode="json")
        assert resource.spec.model_fields_set == fresh[key].spec.model_fields_set
    specs = [r.spec for r in shared.values()]
    assert len({id(s.__pydantic_fields_set__) for s in specs}) == 2  # replicas given, or labels given
    assert len({id(r.metadata.__pydantic_fields_set__) for r in shared.values()}) == 1


def test_a_copy_with_an_update_does_not_touch_the_shared_set() -> None:
    docs = [{"apiVersion": API, "kind": "Service", "metadata": {"name": n}, "spec": {"image": "nginx"}} for n in "ab"]
    a, b = (Service.model_validate(d) for d in docs)
    seen: dict[frozenset[str], set[str]] = {}
    share_fields_sets(a, seen)
    share_fields_sets(b, seen)
    assert a.spec.__pydantic_fields_set__ is b.spec.__pydantic_fields_set__
    copied = a.spec.model_copy(update={"replicas": 3})
    assert "replicas" in copied.model_fields_set and "replicas" not in b.spec.model_fields_set
    with pytest.raises(pydantic.ValidationError):
        a.spec.image = "other"  # frozen: the only way pydantic adds to an existing model's set is refused
