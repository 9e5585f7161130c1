"""What the controller did, as a bounded, in-memory list of events that the dashboard and the
notifier read.

The controller records an ``Entry`` for each thing a person would want to see afterwards: a change
applied, a drift repaired, a failed change and its recovery, a change of health, a revision refused,
an object that does not converge, leadership gained or lost, a pass that failed, a Git sync that
failed and its recovery (``git_report``). Only the last
``capacity`` entries are kept (a controller runs for months; the journal must not grow with it), and
each has a sequence number, so a page can ask for what is new since the last one it saw.

Listeners (the notifier) are called on the controller's thread for every entry, after it is stored;
they must return at once (the notifier only queues). A listener that raises is logged, never the
loop's problem.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

__all__ = ["DEFAULT_CAPACITY", "Entry", "EntryKind", "Journal", "Listener"]

log = logging.getLogger(__name__)

DEFAULT_CAPACITY = 500
"""Entries kept: a few days of a busy controller's changes, a few hundred kilobytes at most."""


class EntryKind(StrEnum):
    APPLIED = "applied"  # a create, update, replace or delete went through
    DRIFT_REPAIRED = "drift repaired"  # ... and it put back a change made in the swarm by hand
    SYNC_FAILED = "sync failed"  # a change failed (the engine refused it, or it timed out)
    SYNC_RECOVERED = "sync recovered"  # an object whose change failed is in sync again
    HEALTH_DEGRADED = "health degraded"  # an object became Degraded or Missing
    HEALTH_RECOVERED = "health recovered"  # an unhealthy object is Healthy again
    HEALTH_CHANGED = "health changed"  # any other change of health (Progressing, ...)
    NOT_CONVERGING = "not converging"  # written, yet the engine stores something else
    REVISION_REFUSED = "revision refused"  # a revision with an invalid manifest: the last good one stays
    REVISION_APPLIED = "revision applied"  # a new revision was read and its first pass went through
    LEADERSHIP = "leadership changed"  # this replica became the leader, or stopped being it
    ERROR = "error"  # a pass failed before any change (the engine could not be observed)
    GIT_FAILED = "git sync failed"  # fetching the repository failed: the last good revision stays
    GIT_RECOVERED = "git sync recovered"  # a sync went through again after failing

    @property
    def severity(self) -> str:
        """``error``, ``warning`` or ``info``: how the dashboard colours it and Apprise types it."""
        if self in (
            EntryKind.SYNC_FAILED,
            EntryKind.HEALTH_DEGRADED,
            EntryKind.REVISION_REFUSED,
            EntryKind.ERROR,
            EntryKind.GIT_FAILED,
        ):
            return "error"
        if self in (EntryKind.NOT_CONVERGING, EntryKind.LEADERSHIP, EntryKind.DRIFT_REPAIRED):
            return "warning"
        return "info"


@dataclass(frozen=True)
class Entry:
    """One event. ``key`` is the object's ``Kind/name`` (empty for events about the whole controller);
    ``reason`` what the engine or the controller said; ``revision`` the manifest revision in force."""

    seq: int
    at: float  # time.time()
    kind: EntryKind
    key: str
    reason: str
    revision: str | None
    details: dict[str, Any] = field(default_factory=dict)  # e.g. the field-level diff of an applied change

    @property
    def severity(self) -> str:
        return self.kind.severity

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["kind"] = self.kind.value
        out["severity"] = self.severity
        return out


Listener = Callable[[Entry], None]


class Journal:
    """The last ``capacity`` entries, oldest first; thread-safe."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, clock: Callable[[], float] = time.time) -> None:
        if capacity < 1:
            raise ValueError("Journal: capacity must be at least 1")
        self._entries: deque[Entry] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._seq = 0
        self._clock = clock
        self._listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every later entry (on the recording thread; it must not block)."""
        with self._lock:
            self._listeners.append(listener)

    def record(
        self,
        kind: EntryKind,
        key: str = "",
        reason: str = "",
        revision: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> Entry:
        with self._lock:
            self._seq += 1
            entry = Entry(self._seq, self._clock(), kind, key, reason, revision, details or {})
            self._entries.append(entry)
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(entry)
            except Exception:  # a listener's bug must not stop the controller's pass
                log.exception("journal listener %r failed", listener)
        return entry

    def entries(self, key: str | None = None, since: int = 0, limit: int | None = None) -> list[Entry]:
        """Entries newest first: all, or those about ``key``, after sequence number ``since``, at most ``limit``."""
        with self._lock:
            found = [e for e in reversed(self._entries) if e.seq > since and (key is None or e.key == key)]
        return found if limit is None else found[:limit]

    @property
    def last_seq(self) -> int:
        with self._lock:
            return self._seq
