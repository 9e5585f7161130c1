"""A clock and a trigger → ``GitSync.sync()`` calls on a thread of their own, and their outcome →
callbacks: a new revision becomes ``on_revision(sha)``, a failure ``on_error(exc)``.

``GitPoller`` syncs every ``interval`` seconds and at once on ``trigger()``, which the
``POST /hooks/git`` webhook (``reconciler.runtime.webhooks``) calls once it accepted the request.
The manager of ``reconciler run --git-url`` (``reconciler.runtime.manager``) owns the poller: a new
revision wakes the controller, which reloads the manifests under ``current``.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable

from reconciler.runtime.git_sync import GitSync

__all__ = ["GitPoller"]

# The name these lines had before the poller had a module of its own: log collectors may filter on it.
log = logging.getLogger("reconciler.runtime.git_sync")


class GitPoller:
    """Runs ``sync.sync()`` in a thread every ``interval`` seconds and at once on ``trigger()``.

    ``on_revision(sha)`` is called when the checked-out revision changed (the first sync counts);
    ``on_error(exc)`` when a sync failed; ``current`` then stays on the last good revision and the
    next attempt comes at the next interval or trigger. ``on_recovered(sha)``: the first sync that
    went through after a failed one. Exceptions from the callbacks are logged and
    do not stop the thread. ``stop_event`` (a fresh one if not given) ends the thread when set; a
    running git command is cancelled, so ``stop()`` returns within about a second.
    """

    def __init__(
        self,
        sync: GitSync,
        interval: float,
        on_revision: Callable[[str], None],
        on_error: Callable[[Exception], None] | None = None,
        *,
        on_recovered: Callable[[str], None] | None = None,
        stop_event: threading.Event | None = None,
        name: str = "git-poller",
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.sync = sync
        self.interval = interval
        self.on_revision = on_revision
        self.on_error = on_error
        self.on_recovered = on_recovered
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._revision: str | None = None
        self.last_error: Exception | None = None
        self.last_success: float | None = None  # time.time() of the last successful sync

    @property
    def revision(self) -> str | None:
        """The SHA of the last successful sync; None before it."""
        return self._revision

    def start(self) -> None:
        self._thread.start()

    def trigger(self) -> None:
        """Sync as soon as possible (a sync running now is followed by another)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Set the stop event and wait up to ``timeout`` seconds for the thread to end."""
        self.stop_event.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            # Cleared before the sync, so a trigger that arrives while git is fetching (and may
            # have missed the pushed commit) causes one more sync right after.
            self._wake.clear()
            self._sync_once()
            self._wait()

    def _sync_once(self) -> None:
        try:
            sha = self.sync.sync(cancel=self.stop_event)
        except Exception as exc:
            if self.stop_event.is_set():
                return  # cancelled on the way out; not worth reporting
            self.last_error = exc
            if self.on_error is not None:
                self._call(functools.partial(self.on_error, exc), "on_error")
            else:
                log.warning("git sync failed: %s", exc)
            return
        failed_before = self.last_error is not None
        self.last_error = None
        self.last_success = time.time()
        if sha != self._revision:
            self._revision = sha
            self._call(functools.partial(self.on_revision, sha), "on_revision")
        if failed_before and self.on_recovered is not None:
            self._call(functools.partial(self.on_recovered, sha), "on_recovered")

    def _wait(self) -> None:
        deadline = time.monotonic() + self.interval
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            # Bounded slices: an external stop_event set without stop() is noticed within one.
            if self._wake.wait(min(remaining, 0.5)):
                return

    @staticmethod
    def _call(call: Callable[[], None], what: str) -> None:
        try:
            call()
        except Exception:
            log.exception("git poller callback %s failed", what)
