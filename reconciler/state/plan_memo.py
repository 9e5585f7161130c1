"""Planning again what did not change: a pass's per-object work, kept for the next pass while both
sides are provably the same.

Most passes of a controller see the same swarm and the same desired state as the pass before, or one
object changed among a thousand; yet every pass turned every live service into its essence
(``essence.service_essence``, the costliest step of a plan), diffed it against the desired essence,
and rewrote every service that uses a keyed secret name (``content_names``, which computes the
service's essence again). ``PlanMemo`` keeps those results for one pass:

- a live service's essence, keyed by its ID and reused when the engine's ``Version.Index`` is the same
  (swarmkit bumps an object's version on every store update: ``api.Meta.Version``, so one version is
  one stored spec), its spec has the digest of the one the essence was made from (a second guard, for
  adapters or tests that do not keep versions, and for a spec changed in place; a digest rather than
  the spec itself, so that the last pass's observation is not held through the next one, issue 18),
  and the network ID → name map the essence used is equal. An in-sync service's live essence, equal
  to the desired one, is kept as that very object (the compile cache holds it anyway), so a converged
  controller holds one essence per service, not two;
- the diff of that live essence against a desired essence, reused when both are the very objects it
  was computed from (the compile cache and this memo hand unchanged objects back as the same objects;
  nothing changes an essence in place);
- a service with its config and secret references renamed (``content_names._renamed_references``),
  reused when the service is the same object and the renames it uses are equal.

Everything else of a plan (ownership, holds, health, deletions) is computed every pass. Bounded: each
table keeps only what its last round (one ``make_plan``, one ``resolve_names``) used or made, so it
never holds more than one pass's objects. Without a memo the plan is computed from scratch, the
reference: ``tests/unit/test_plan_memo.py`` compares both over random edits of both sides.
Held by the controller, passed in ``PlanOptions.memo``.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

from reconciler.core.hashing import stable_json
from reconciler.state.desired import DesiredObject
from reconciler.state.diffing import FieldDiff, diff_essences
from reconciler.state.observed import ObservedObject

__all__ = ["PlanMemo", "Rounds", "spec_digest"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Renames = tuple[tuple[str, str, str], ...]  # (swarm kind, name, new name) of the references a service has


class Rounds(Generic[K, V]):
    """A table that keeps, after each round, only the entries that round read or wrote."""

    def __init__(self) -> None:
        self._last: dict[K, V] = {}
        self._now: dict[K, V] = {}
        self._lock = threading.RLock()
        self.hits = 0
        self.misses = 0

    @contextmanager
    def round(self) -> Iterator[None]:
        with self._lock:
            self._now = {}
            try:
                yield
            finally:
                self._last, self._now = self._now, {}

    def get(self, key: K) -> V | None:
        found = self._now.get(key) or self._last.get(key)
        if found is not None:
            self._now[key] = found
        return found

    def put(self, key: K, value: V) -> None:
        self._now[key] = value

    def __len__(self) -> int:
        return len(self._last)


def spec_digest(spec: dict[str, Any]) -> bytes:
    """A digest of a live spec's JSON data. Marshal format 2 writes no back-references (format 3 and
    later write one where an object has more than one reference), so equal data in equal order gives
    equal bytes whatever else refers to its parts; data in another order only misses the memo. A spec
    holding what is not JSON data (an adapter's own type) gets a digest of its own each time: never
    reused, planned as without the memo."""
    try:
        data = marshal.dumps(spec, 2)
    except ValueError:  # marshal writes only built-in types
        return os.urandom(16)
    return hashlib.blake2b(data, digest_size=16).digest()


class _LiveEssence:
    __slots__ = ("diff", "digest", "essence", "network_names", "version", "wanted")

    def __init__(self, version: int, digest: bytes, network_names: dict[str, str], essence: dict[str, Any]):
        self.version = version
        self.digest = digest  # ``spec_digest`` of the spec the essence was made from
        self.network_names = network_names
        self.essence = essence
        self.wanted: object = None  # the desired essence ``diff`` was computed against
        self.diff: tuple[FieldDiff, ...] = ()


class PlanMemo:
    """The controller's memory of its last pass's plan work (see the module docstring)."""

    def __init__(self) -> None:
        self.live: Rounds[str, _LiveEssence] = Rounds()
        self.renamed: Rounds[int, tuple[DesiredObject, Renames, DesiredObject]] = Rounds()

    def service_diff(
        self,
        live: ObservedObject,
        network_names: dict[str, str],
        wanted: dict[str, Any],
        essence_of: Callable[[], dict[str, Any]],
    ) -> tuple[dict[str, Any], tuple[FieldDiff, ...]]:
        """A live service's essence (``essence_of()`` when not known) and its diff against ``wanted``."""
        entry = self.live.get(live.id)
        digest = spec_digest(live.spec)
        if not (
            entry is not None
            and entry.version == live.version
            and entry.digest == digest
            and entry.network_names == network_names
        ):
            self.live.misses += 1
            essence = essence_of()
            if stable_json(essence) == stable_json(wanted):  # in sync (types too: True is not 1): keep
                essence = wanted  # the desired essence, the same data, held anyway (issue 18)
            entry = _LiveEssence(live.version, digest, network_names, essence)
        else:
            self.live.hits += 1
        if entry.wanted is not wanted:
            entry.diff = tuple(diff_essences(entry.essence, wanted))
            entry.wanted = wanted
        self.live.put(live.id, entry)
        return entry.essence, entry.diff

    def renamed_service(
        self, service: DesiredObject, renames: Renames, rename: Callable[[], DesiredObject]
    ) -> DesiredObject:
        """``rename()`` of ``service`` under ``renames`` (the ones its references use), or the result of
        the last pass for the same service object and the same renames."""
        found = self.renamed.get(id(service))
        if found is not None and found[0] is service and found[1] == renames:
            self.renamed.hits += 1
            return found[2]
        self.renamed.misses += 1
        result = rename()
        self.renamed.put(id(service), (service, renames, result))
        return result
