"""Compact positions (``manifests.positions``, issue 18): a validated document's positions answer
exactly as the builder's dict did, documents of one shape share one layout, and a message points
at the same place whether its manifest came fresh from the file or from the parse cache."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.parse_cache import ParseCache
from reconciler.manifests.positions import Layouts, Positions
from reconciler.manifests.yaml_source import parse_yaml

API = "reconciler.swarm/v1alpha1"

_paths = st.lists(st.one_of(st.text(max_size=6), st.integers(0, 50)), max_size=4).map(tuple)
_places = st.tuples(st.integers(1, 1 << 20), st.integers(1, (1 << 20) + 1))


@given(st.dictionaries(_paths, _places, max_size=40), _paths)
def test_positions_answer_as_the_dict_they_were_made_from(
    found: dict[tuple[str | int, ...], tuple[int, int]], asked: tuple[str | int, ...]
) -> None:
    compact = Positions(found)
    assert compact == found and dict(compact) == found
    assert list(compact) == list(found) and len(compact) == len(found)
    assert compact.get(asked) == found.get(asked)
    assert (asked in compact) == (asked in found)


def test_documents_of_one_shape_share_one_layout(tmp_path: Path) -> None:
    for i in range(3):
        (tmp_path / f"s{i}.yaml").write_text(
            f"apiVersion: {API}\nkind: Service\nmetadata: {{name: web{i}}}\nspec:\n  image: nginx:{i}\n"
        )
    (tmp_path / "n.yaml").write_text(f"apiVersion: {API}\nkind: Network\nmetadata:\n  name: net\nspec: {{}}\n")
    layouts = Layouts()
    raw = (tmp_path / "s0.yaml").read_bytes()
    [fresh], _ = parse_yaml(raw, "s0.yaml")
    settled = fresh.settled(layouts)
    assert settled.data is None and settled.positions == fresh.positions
    assert settled.position(("spec", "image", 3)) == fresh.position(("spec", "image", 3))  # nearest parent
    loaded = load_manifests(tmp_path)
    shapes = {id(m.source.positions._layout) for m in loaded.items if m.resource.kind == "Service"}  # type: ignore[attr-defined]
    assert len(shapes) == 1


def test_a_cross_check_points_at_the_same_place_from_the_cache_as_fresh(tmp_path: Path) -> None:
    (tmp_path / "web.yaml").write_text(
        f"apiVersion: {API}\nkind: Service\nmetadata: {{name: web}}\nspec:\n  image: nginx\n"
        "  labels: {a: b}\n  networks: [front, back]\n"
    )
    nets = tmp_path / "nets.yaml"
    nets.write_text("".join(f"---\napiVersion: {API}\nkind: Network\nmetadata: {{name: {n}}}\nspec: {{}}\n"
                            for n in ("front", "back")))  # fmt: skip
    cache = ParseCache()
    load_manifests(tmp_path, cache)
    nets.write_text(f"apiVersion: {API}\nkind: Network\nmetadata: {{name: front}}\nspec: {{}}\n")
    with pytest.raises(ManifestError) as cached:
        load_manifests(tmp_path, cache)  # web.yaml comes from the cache, with its compact positions
    assert cache.hits == 1
    with pytest.raises(ManifestError) as fresh:
        load_manifests(tmp_path)
    assert [str(p) for p in cached.value.problems] == [str(p) for p in fresh.value.problems]
    assert str(cached.value.problems[0]).startswith(f"{tmp_path / 'web.yaml'}:7:21: Service/web: spec.networks[1]")
