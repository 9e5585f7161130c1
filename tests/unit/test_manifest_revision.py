"""The controller's revision of a manifest folder (``runtime.manifest_source``): remembering each
manifest's digest between revisions gives the revision a fresh load gives, over random edits (the
edits of ``test_compile_cache``); the same manifests written another way are the same revision; the
memory holds one revision's manifests; the folder fingerprint sees every file below the folder."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.manifest_source import (
    Loaded,
    ManifestSource,
    Refused,
    Unchanged,
    _fingerprint,
    manifest_revision,
)
from tests.unit.test_compile_cache import KINDS, NAMES, _apply, _base, edits

API = "reconciler.swarm/v1alpha1"


def _fresh(folder: Path) -> str | None:
    try:
        return manifest_revision(load_manifests(folder))
    except ManifestError:
        return None


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(edits(), min_size=1, max_size=6))
def test_the_remembered_digests_give_the_fresh_revision(revisions: list[list[tuple[str, str, Any]]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "files").mkdir()
        for name in NAMES:
            (folder / "files" / f"{name}.txt").write_text(f"{name}\n")
        _apply(folder, [("put", f"{k}-{n}-None.yaml", _base(k, n)) for k in KINDS for n in NAMES])
        source = ManifestSource(folder, "test")
        for revision in [[], *revisions]:
            _apply(folder, revision)
            loaded = source.load()
            expected = _fresh(folder)
            if isinstance(loaded, Refused):
                assert expected is None
                continue
            assert isinstance(loaded, Loaded | Unchanged)
            assert source.revision == expected
            assert len(source._digests._last) == len(load_manifests(folder))  # one revision's manifests


def test_the_same_manifests_written_otherwise_are_the_same_revision(tmp_path: Path) -> None:
    spec = {"image": "x:1", "labels": {"a": "1", "b": "2"}, "replicas": 1}
    doc = {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"}, "spec": spec}
    (tmp_path / "one.yaml").write_text(yaml.safe_dump(doc, sort_keys=True))
    first = manifest_revision(load_manifests(tmp_path))
    (tmp_path / "one.yaml").unlink()
    reordered = {**doc, "spec": {"replicas": 1, "labels": {"b": "2", "a": "1"}, "image": "x:1"}}
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.yaml").write_text(yaml.safe_dump(reordered, sort_keys=False))
    assert manifest_revision(load_manifests(tmp_path)) == first
    reordered["spec"]["labels"]["a"] = "changed"
    (tmp_path / "sub" / "other.yaml").write_text(yaml.safe_dump(reordered, sort_keys=False))
    assert manifest_revision(load_manifests(tmp_path)) != first


def test_the_fingerprint_lists_every_path_below_the_folder_as_rglob_does(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "m.yaml").write_text("x")
    (tmp_path / "top.yaml").write_text("yy")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    (outside / "hidden.yaml").write_text("z")
    os.symlink(outside, tmp_path / "link")  # listed, not entered (as Path.rglob)
    expected = sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in tmp_path.rglob("*") if p.exists())
    assert _fingerprint(tmp_path) == expected
    assert not any("hidden" in path for path, _, _ in _fingerprint(tmp_path))
    before = _fingerprint(tmp_path)
    (tmp_path / "a" / "b" / "m.yaml").write_text("changed")
    assert _fingerprint(tmp_path) != before
