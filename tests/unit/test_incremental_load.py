"""Incremental revisions: loading with the parse cache gives exactly what a fresh load gives, over
random edits (add, change, break, fix and delete files), and skips unchanged files."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import yaml

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.parse_cache import ParseCache

API = "reconciler.swarm/v1alpha1"


def service(name: str, replicas: int) -> dict[str, object]:
    return {
        "apiVersion": API,
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"image": "x:1", "replicas": replicas},
    }


def outcome(folder: Path, cache: ParseCache | None) -> object:
    try:
        loaded = load_manifests(folder, cache)
    except ManifestError as exc:
        return ("error", [str(p) for p in exc.problems])
    return ("ok", [(m.resource, m.source) for m in loaded.items], loaded.contents, loaded.warnings)


@pytest.mark.parametrize("seed", range(8))
def test_cached_loads_equal_fresh_loads_over_random_edits(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    cache = ParseCache()
    files: dict[str, int] = {}
    for step in range(40):
        action = rng.choice(["add", "change", "change", "delete", "break", "fix"])
        name = f"f{rng.randrange(8)}.yaml"
        path = tmp_path / name
        if action in ("add", "change"):
            files[name] = step
            docs = [service(f"{name[:-5]}-s{i}", step % 3) for i in range(rng.randrange(1, 4))]
            path.write_text(yaml.safe_dump_all(docs))
        elif action == "delete" and path.exists():
            path.unlink()
        elif action == "break" and path.exists():
            path.write_text(path.read_text().replace("replicas:", "replicaz:", 1))
        elif action == "fix" and path.exists():
            path.write_text(path.read_text().replace("replicaz:", "replicas:"))
        assert outcome(tmp_path, cache) == outcome(tmp_path, None), f"seed {seed}, step {step}: {action} {name}"
        assert len(cache) <= len(list(tmp_path.glob("*.yaml")))


def test_unchanged_files_are_not_parsed_again(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}.yaml").write_text(yaml.safe_dump(service(f"s{i}", 1)))
    cache = ParseCache()
    load_manifests(tmp_path, cache)
    assert (cache.hits, cache.misses) == (0, 5)
    (tmp_path / "f0.yaml").write_text(yaml.safe_dump(service("s0", 2)))
    load_manifests(tmp_path, cache)
    assert (cache.hits, cache.misses) == (4, 6)
