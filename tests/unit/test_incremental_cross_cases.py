"""Cases where the incremental cross checks and ``check_set`` once disagreed, each run through both."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.incremental_checks import CrossChecks
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.parse_cache import ParseCache

API = "reconciler.swarm/v1alpha1"


def _chain(folder: Path, count: int, closed: bool) -> None:
    docs = [
        {
            "apiVersion": API,
            "kind": "Service",
            "metadata": {"name": f"s{i}"},
            "spec": {"image": "x:1", "dependsOn": [f"Service/s{(i + 1) % count}"]},
        }
        for i in range(count)
    ]
    if not closed:
        del docs[-1]["spec"]["dependsOn"]
    (folder / "chain.yaml").write_text(yaml.safe_dump_all(docs))


def _problems(folder: Path, cache: ParseCache | None, checks: CrossChecks | None) -> list[str]:
    try:
        load_manifests(folder, cache, checks)
    except ManifestError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_a_dependency_chain_longer_than_the_recursion_limit_is_judged_by_both(tmp_path: Path) -> None:
    # check_set walked the dependsOn graph recursively: a chain of ~1,000 services raised RecursionError
    # out of load_manifests, while CrossChecks (no cycle: no walk) accepted the same set.
    count = sys.getrecursionlimit() + 100
    cache, checks = ParseCache(), CrossChecks()
    _chain(tmp_path, count, closed=False)
    assert _problems(tmp_path, cache, checks) == _problems(tmp_path, None, None) == []
    _chain(tmp_path, count, closed=True)
    found = _problems(tmp_path, cache, checks)
    assert found == _problems(tmp_path, None, None)
    assert len(found) == 1 and "dependency cycle: Service/s0 -> Service/s1 ->" in found[0]


def test_a_check_that_fails_half_way_leaves_the_next_revision_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A failure inside a revision forgets the half-updated indexes; the lock a waiting caller holds
    # on to stays the same object, so two callers never check at once.
    cache, checks = ParseCache(), CrossChecks()
    _chain(tmp_path, 5, closed=False)
    assert _problems(tmp_path, cache, checks) == []
    lock = checks._lock
    calls = 0
    original = CrossChecks._note_changes

    def fail_once(self: CrossChecks, *args: object) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise MemoryError("half way")
        original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(CrossChecks, "_note_changes", fail_once)
    _chain(tmp_path, 5, closed=True)
    with pytest.raises(MemoryError):
        load_manifests(tmp_path, cache, checks)
    assert checks._lock is lock and not lock.locked()
    found = _problems(tmp_path, cache, checks)
    assert found == _problems(tmp_path, None, None)
    assert len(found) == 1 and "dependency cycle" in found[0]
