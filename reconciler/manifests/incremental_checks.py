"""Incremental cross checks: a revision's cross-check problems, working out again only what its changed
manifests touch.

``CrossChecks.check`` takes what ``cross_checks.check_set`` takes and returns the same problems, in
the order a ``ManifestError`` lists them (sorted). Between revisions it keeps a ``cross_index.Record``
per loaded manifest and the buckets of ``cross_index.Indexes``. A new revision:

1. tells unchanged manifests from new and gone ones by identity (the parse cache hands back an
   unchanged file's objects), one dict lookup each;
2. updates the key buckets of the new and gone ones and, where a key's first manifest changed,
   retracts the old one's declarations and claims and makes the new one's (``cross_parts.claims``);
3. notes which contents and failed documents changed;
4. examines again each manifest that is new or read a changed bucket (``cross_parts.verdict``: its
   references, route network, derived names, password, templates, chain; its claims and
   dependencies are made again with it);
5. judges again each claim bucket that changed (``cross_parts.bucket_problems``), and the dependency
   graph while it has or may have gained a cycle (``cross_parts.CycleGuard``).

A one-file change among 1,000 manifests examines that file's manifests and their readers; a file many
manifests read (the networks every service is on) examines those readers. ``check_set`` stays the
reference and the path of one-shot commands: ``tests/unit/test_incremental_cross.py`` compares both on
every revision of random edit sequences. Held by the controller's ``ManifestSource`` for
``loading.load_manifests``; bounded: it holds one revision's manifests.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping

from reconciler.manifests.cross_checks import duplicate
from reconciler.manifests.cross_index import Indexes, Reads, Record
from reconciler.manifests.cross_parts import CycleGuard, bucket_problems, claims, edges, verdict
from reconciler.manifests.errors import ManifestProblem
from reconciler.manifests.manifest_set import LoadedManifest

__all__ = ["CrossChecks"]


class CrossChecks:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        """Forget every record and index (the lock stays: a waiting caller holds on to it)."""
        self._records: dict[int, Record] = {}  # id(resource) -> its record (the resource is held by it)
        self._indexes = Indexes()
        self._active: dict[str, Record] = {}  # key -> the manifest the set checks
        self._found: dict[object, tuple[ManifestProblem, ...]] = {}  # record, bucket or key -> its problems
        self._graph: dict[str, tuple[str, ...]] = {}
        self._cycles = CycleGuard()
        self.examined = 0  # manifests examined by the last revision (for tests and the bench)

    def check(
        self, loaded: list[LoadedManifest], contents: Mapping[str, bytes], broken: set[str] | None = None
    ) -> list[ManifestProblem]:
        with self._lock:
            try:
                return self._check(loaded, contents, broken or set())
            except BaseException:
                self._reset()  # half-updated indexes: the next revision starts afresh
                raise

    def _check(
        self, loaded: list[LoadedManifest], contents: Mapping[str, bytes], broken: set[str]
    ) -> list[ManifestProblem]:
        indexes = self._indexes
        indexes.changed = set()
        keys = self._renew(loaded)
        dirty: set[Record] = set()
        for key in keys:
            self._judge_key(key, dirty)
        self._note_changes(contents, broken)
        for bucket in indexes.changed:
            dirty.update(indexes.readers.get(bucket, ()))
        added: list[tuple[str, str]] = []
        for record in dirty:
            if record.active:
                added += self._examine(record)
        self.examined = len(dirty)
        for bucket in [b for b in indexes.changed if b[0] not in ("key", "swarm", "broken", "content")]:
            entries = indexes.claims.get(bucket)
            self._keep(bucket, bucket_problems(bucket, entries) if entries else [])
        cycles = self._cycles.problems(self._graph, added, _Items(self._active))
        if cycles is not None:
            self._keep("cycles", cycles)
        return sorted(problem for found in self._found.values() for problem in found)

    def _renew(self, loaded: list[LoadedManifest]) -> set[str]:
        """Records for this revision's manifests; the keys whose manifests came or went."""
        records: dict[int, Record] = {}
        keys: set[str] = set()
        for item in loaded:
            record = self._records.get(id(item.resource))
            if record is None or record.item.resource is not item.resource or record.item.source is not item.source:
                record = Record(item)
                self._indexes.add_key(record)
                keys.add(record.key)
            records[id(item.resource)] = record
        for ident, record in self._records.items():
            if records.get(ident) is not record:
                self._indexes.remove_key(record)
                keys.add(record.key)
                if record.active:
                    self._deactivate(record)
                self._indexes.read_by(record, ())
                self._found.pop(record, None)
        self._records = records
        return keys

    def _judge_key(self, key: str, dirty: set[Record]) -> None:
        """The duplicates of ``key``, and a new first manifest for it when the first one changed."""
        entries = self._indexes.keys.get(key, [])
        self._keep(("duplicate", key), [duplicate(r.item, entries[0].item) for r in entries[1:]])
        winner = entries[0] if entries else None
        current = self._active.get(key)
        if current is winner:
            return
        if current is not None and current.active:
            self._deactivate(current)
        if winner is not None:
            winner.active = True
            self._active[key] = winner
            self._indexes.declare(winner)
            dirty.add(winner)

    def _deactivate(self, record: Record) -> None:
        record.active = False
        if self._active.get(record.key) is record:
            del self._active[record.key]
        self._indexes.retract(record)
        for bucket, claim in record.claims:
            self._indexes.unclaim(bucket, claim)
        record.claims = ()
        if record.edges is not None:
            self._graph.pop(record.key, None)
            record.edges = None
        self._found.pop(record, None)
        self._indexes.read_by(record, ())

    def _note_changes(self, contents: Mapping[str, bytes], broken: set[str]) -> None:
        indexes = self._indexes
        before = indexes.contents
        for key in before.keys() | contents.keys():
            if before.get(key) != contents.get(key):
                indexes.changed.add(("content", key))
        for key in indexes.broken ^ broken:
            indexes.changed.add(("broken", key))
        indexes.contents, indexes.broken = dict(contents), frozenset(broken)

    def _examine(self, record: Record) -> list[tuple[str, str]]:
        """``record``'s claims, dependencies and own problems made again; its new dependency edges."""
        reads = Reads(self._indexes)
        made = claims(record.item, record.order, reads)
        if tuple(made) != record.claims:
            for bucket, claim in record.claims:
                self._indexes.unclaim(bucket, claim)
            for bucket, claim in made:
                self._indexes.claim(bucket, claim)
            record.claims = tuple(made)
        before = record.edges or ()
        record.edges = edges(record.item, reads)
        if record.edges is not None:
            self._graph[record.key] = record.edges
        self._keep(record, verdict(record.item, reads))
        self._indexes.read_by(record, tuple(reads.log))
        return [(record.key, target) for target in record.edges or () if target not in before]

    def _keep(self, owner: object, problems: list[ManifestProblem]) -> None:
        if problems:
            self._found[owner] = tuple(problems)
        else:
            self._found.pop(owner, None)


class _Items(Mapping[str, LoadedManifest]):
    """The checked manifests by key, as ``cross_checks.dependency_cycles`` reads them."""

    def __init__(self, active: dict[str, Record]) -> None:
        self._active = active

    def __getitem__(self, key: str) -> LoadedManifest:
        return self._active[key].item

    def __iter__(self) -> Iterator[str]:
        return iter(self._active)

    def __len__(self) -> int:
        return len(self._active)
