"""What wakes the controller: the manifest folder changing, Docker events, a periodic resync, a
webhook, a requested retry. Every trigger only wakes the loop; none carries what to do.

``Wakeup`` coalesces bursts (a Git checkout writes many files; one apply emits many events) into one
pass. ``watch_manifests`` follows the folder with watchfiles; when the path is a symlink that a
Git-sync swaps (``current -> rev-…``), the folder holding it is watched, since the swap changes the
link, not the files under the old target. Called by ``reconciler.runtime.controller``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

import watchfiles

__all__ = ["Wakeup", "watch_manifests", "watched_folder"]

log = logging.getLogger(__name__)


class Wakeup:
    """A set of pending reasons plus the earliest time a pass is due."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._reasons: set[str] = set()
        self._settled = False  # a pending reason came from a source that coalesced its own burst
        self._due: float | None = None
        self._due_reason = "retry"

    def wake(self, reason: str, settled: bool = False) -> None:
        """``settled``: the source already waited for its burst to end (the file watcher's debounce), so
        the pass need not wait again."""
        with self._cond:
            self._reasons.add(reason)
            self._settled = self._settled or settled
            self._cond.notify_all()

    def wake_at(self, delay_s: float, reason: str) -> None:
        """Ask for a pass in ``delay_s`` seconds (a retry, the next resync)."""
        with self._cond:
            due = self._clock() + delay_s
            if self._due is None or due < self._due:
                self._due = due
                self._due_reason = reason
            self._cond.notify_all()

    def wait(self, stop: threading.Event, settle_s: float = 0.01) -> set[str]:
        """Block until woken (or ``stop``), then let a burst settle for ``settle_s``, unless a reason
        came settled (a manifest change: the watcher debounced it); returns the reasons."""
        with self._cond:
            while not stop.is_set():
                now = self._clock()
                if self._due is not None and now >= self._due:
                    self._reasons.add(self._due_reason)
                    self._due = None
                if self._reasons:
                    break
                timeout = 0.5 if self._due is None else min(0.5, max(self._due - now, 0.0))
                self._cond.wait(timeout)
            settled = self._settled
        if stop.is_set():
            return set()
        if not settled:
            stop.wait(settle_s)
        with self._cond:
            reasons, self._reasons, self._settled = self._reasons, set(), False
            return reasons


def watched_folder(manifests: Path) -> Path:
    return manifests.parent if manifests.is_symlink() else manifests


def watch_manifests(manifests: Path, wakeup: Wakeup, stop: threading.Event, debounce_ms: int = 10) -> None:
    """Blocking: wake the loop whenever anything under the manifest path changes. The waits are short
    (10 ms debounce, 5 ms steps) and the loop adds none (``settled``): a Git sync's revision swap is one
    rename, so a single-file change need not be held back, and files still being written are caught
    by the loader's own check (``manifest_source.Settling``)."""
    folder = watched_folder(manifests)
    while not stop.is_set():
        try:
            for _changes in watchfiles.watch(
                folder, stop_event=stop, debounce=debounce_ms, step=5, rust_timeout=500, yield_on_timeout=False,
                raise_interrupt=False,
            ):  # fmt: skip
                wakeup.wake("manifests", settled=True)
        except (OSError, RuntimeError) as exc:  # the folder vanished or was swapped out from under us
            log.warning("watching %s failed: %s; retrying", folder, exc)
            stop.wait(1.0)
