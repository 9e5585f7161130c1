"""The indexes the incremental cross checks keep between revisions, and the view that records what a
manifest's check reads of them.

A loaded manifest is a ``Record`` as long as the parse cache hands back the same resource and source
objects (an unchanged file; as ``state.compile_cache`` and ``runtime.manifest_source`` tell an
unchanged manifest, by identity, no digest of its own). The indexes hold, per bucket:

- ``("key", K)``: every loaded manifest of key ``K`` in load order; the first one is the set's
  (``cross_checks`` reports the others as duplicates and checks only the first);
- ``("swarm", kind, name)``: the checked manifests of that kind and Swarm name, in load order (the
  resolver takes the first, the derived-name and chain checks the last, as the whole-set checks do);
- ``("broken", K)`` and ``("content", K)``: a document that failed its own fields, a Config's or
  Secret's content;
- claims (``cross_parts``): the route host and path, the network a route reaches its service on, a
  VRRP router id, a floating address, a published port; each holds ``Claim`` entries in the order
  the whole-set check meets them.

``Reads`` answers a manifest's check from these buckets and writes down each bucket it asked, so that
``incremental_checks`` examines a manifest again only when a bucket it read has changed. Used by
``cross_parts`` and ``incremental_checks``.
"""

from __future__ import annotations

import bisect
from collections.abc import Container, Hashable, Iterator, Mapping
from typing import Any, NamedTuple

from reconciler.manifests.errors import ManifestProblem
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.manifest_set import LoadedManifest
from reconciler.manifests.namespaces import Resolver

__all__ = ["Bucket", "Claim", "Indexes", "Reads", "Record"]

Bucket = tuple[Hashable, ...]


class Claim(NamedTuple):
    """What one manifest put in a claim bucket; ``sort`` orders the bucket as the whole-set check does."""

    sort: Any
    item: LoadedManifest
    payload: Any


class Record:
    """One loaded manifest between revisions, with what its checks found and read."""

    __slots__ = ("active", "claims", "edges", "item", "key", "order", "problems", "reads")

    def __init__(self, item: LoadedManifest) -> None:
        self.item = item
        self.key: str = item.resource.key
        self.order = (item.source.file, item.source.index)  # load order: files sorted by name, then documents
        self.active = False  # the first manifest of its key: the one the set checks
        self.claims: tuple[tuple[Bucket, Claim], ...] = ()
        self.edges: tuple[str, ...] | None = None  # a Service's dependsOn targets
        self.reads: tuple[Bucket, ...] = ()
        self.problems: tuple[ManifestProblem, ...] = ()


def _insert(entries: list[Any], entry: Any, sort: Any) -> None:
    bisect.insort(entries, entry, key=sort)


def _order(record: Record) -> tuple[str, int]:
    return record.order


class Indexes:
    """The buckets of one manifest set, updated entry by entry; ``changed`` collects the buckets whose
    answers changed since it was last emptied."""

    def __init__(self) -> None:
        self.keys: dict[str, list[Record]] = {}
        self.swarm: dict[tuple[str, str], list[Record]] = {}
        self.claims: dict[Bucket, list[Claim]] = {}
        self.contents: Mapping[str, bytes] = {}
        self.broken: frozenset[str] = frozenset()
        self.readers: dict[Bucket, set[Record]] = {}
        self.changed: set[Bucket] = set()

    def add_key(self, record: Record) -> None:
        _insert(self.keys.setdefault(record.key, []), record, _order)

    def remove_key(self, record: Record) -> None:
        _remove(self.keys, record.key, record)

    def winner(self, key: str) -> Record | None:
        found = self.keys.get(key)
        return found[0] if found else None

    def declare(self, record: Record) -> None:
        resource = record.item.resource
        slot = (resource.KIND, resource.swarm_name)
        _insert(self.swarm.setdefault(slot, []), record, _order)
        self.changed.update((("key", record.key), ("swarm", *slot)))

    def retract(self, record: Record) -> None:
        resource = record.item.resource
        slot = (resource.KIND, resource.swarm_name)
        _remove(self.swarm, slot, record)
        self.changed.update((("key", record.key), ("swarm", *slot)))

    def claim(self, bucket: Bucket, claim: Claim) -> None:
        _insert(self.claims.setdefault(bucket, []), claim, _claim_sort)
        self.changed.add(bucket)

    def unclaim(self, bucket: Bucket, claim: Claim) -> None:
        entries = self.claims[bucket]
        entries.remove(claim)
        if not entries:
            del self.claims[bucket]
        self.changed.add(bucket)

    def read_by(self, record: Record, reads: tuple[Bucket, ...]) -> None:
        """``record``'s checks now read ``reads`` (and no longer what they read before)."""
        for bucket in record.reads:
            readers = self.readers.get(bucket)
            if readers is not None:
                readers.discard(record)
                if not readers:
                    del self.readers[bucket]
        record.reads = reads
        for bucket in reads:
            self.readers.setdefault(bucket, set()).add(record)


def _claim_sort(claim: Claim) -> Any:
    return claim.sort


def _remove(index: dict[Any, list[Record]], slot: Any, record: Record) -> None:
    entries = index[slot]
    entries.remove(record)
    if not entries:
        del index[slot]


class Reads:
    """The indexes as one manifest's checks see them; every bucket asked is written down in ``log``."""

    def __init__(self, indexes: Indexes) -> None:
        self._indexes = indexes
        self.log: set[Bucket] = set()
        self.resolver = Resolver.over(_Named(self), _BySwarmName(self))

    def named(self, key: str) -> LoadedManifest | None:
        """The manifest the set checks for ``key`` (the first loaded), or None."""
        self.log.add(("key", key))
        found = self._indexes.winner(key)
        return found.item if found is not None else None

    def swarm(self, kind: str, name: str, last: bool = False) -> LoadedManifest | None:
        """The first (or ``last``) checked manifest of ``kind`` with Swarm name ``name``, or None."""
        self.log.add(("swarm", kind, name))
        found = self._indexes.swarm.get((kind, name))
        return (found[-1] if last else found[0]).item if found else None

    def broken(self, key: str) -> bool:
        self.log.add(("broken", key))
        return key in self._indexes.broken

    def content(self, key: str) -> bytes | None:
        self.log.add(("content", key))
        return self._indexes.contents.get(key)


class _Lookups(Mapping[Any, Any]):
    """A mapping read by ``get``, ``in`` and ``[]`` only; walking it whole is no lookup of a bucket."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def __getitem__(self, key: Any) -> Any:
        found = self.get(key)
        if found is None:
            raise KeyError(key)
        return found

    def __contains__(self, key: object) -> bool:
        return self.get(key) is not None

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("the cross-check indexes are read by key only")

    def __len__(self) -> int:
        raise TypeError("the cross-check indexes are read by key only")


class _Named(_Lookups):
    def get(self, key: Any, default: Any = None) -> Resource | None:
        found = self._reads.named(key)
        return found.resource if found is not None else default


class _BySwarmName(_Lookups):
    def get(self, key: Any, default: Any = None) -> Resource | None:
        found = self._reads.swarm(*key)
        return found.resource if found is not None else default


class Broken(Container[str]):
    """``Reads.broken`` as the container ``cross_checks.reference_problems`` asks."""

    def __init__(self, reads: Reads) -> None:
        self._reads = reads

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._reads.broken(key)


class Contents(_Lookups):
    """``Reads.content`` as the mapping ``cross_checks.password_problems`` asks."""

    def get(self, key: Any, default: Any = None) -> bytes | None:
        found = self._reads.content(key)
        return found if found is not None else default


class Middlewares(_Lookups):
    """Middlewares by Traefik name (the last of each, as ``chain_cycles`` builds them)."""

    def get(self, key: Any, default: Any = None) -> LoadedManifest | None:
        found = self._reads.swarm("Middleware", key, last=True)
        return found if found is not None else default
