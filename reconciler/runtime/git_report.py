"""A failed Git sync → a log line, the ``git`` error counter, and a journal entry (so the dashboard's
events and the notifier show it), and its end → one "recovered" entry.

Before, a failure was only under ``git.last_error`` in ``/status``: an operator looking at the
dashboard or the notifications saw the revision stop moving and nothing else. The poller
(``git_poller``) calls ``failed`` after every failed sync and ``recovered`` after the first good one
that follows; the journal gets an entry only when the failure starts or its message changes, so a
repository that stays unreachable for days does not push every other event out of the bounded
journal (the log line is written every time).
"""

from __future__ import annotations

import logging
import threading

from reconciler.runtime.journal import EntryKind, Journal
from reconciler.runtime.metrics import Metrics

__all__ = ["GitReport"]

log = logging.getLogger("reconciler.runtime.git_sync")  # the name these lines always had


class GitReport:
    def __init__(self, journal: Journal, metrics: Metrics) -> None:
        self.journal = journal
        self.metrics = metrics
        self._said: str | None = None  # the failure last recorded; None while syncs go through
        self._lock = threading.Lock()

    def failed(self, exc: Exception) -> None:
        message = str(exc)
        self.metrics.count_error("git")
        log.error("git sync failed (the last good revision stays): %s", message)
        with self._lock:
            new = message != self._said
            self._said = message
        if new:
            self.journal.record(EntryKind.GIT_FAILED, "", f"{message} (the last good revision stays)")

    def recovered(self, revision: str | None) -> None:
        with self._lock:
            was, self._said = self._said, None
        if was is not None:
            log.info("git sync works again (revision %s)", revision)
            self.journal.record(EntryKind.GIT_RECOVERED, "", f"git sync works again (revision {revision})", revision)
