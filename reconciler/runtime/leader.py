"""Leader election: the lease record in Swarm (``reconciler.swarm.lease``) → whether this replica leads.

Semantics follow client-go's leaderelection. Every ``retry_s`` a replica reads the record. A follower
remembers when it last saw the record change (holder, renewals or transitions) and judges it expired
the record's duration later, on its OWN monotonic clock: wall-clock times written by other nodes are
never compared. An expired or released lease is taken by compare-and-swap (holder=identity,
transitions+1). The leader renews by compare-and-swap (renewals+1); once it has not renewed for
``renew_deadline_s`` on its own clock, it stops leading at once: ``is_leader`` turns False (even while
a request hangs), then ``on_stopped`` is called and ``run`` returns. As ``renew_deadline_s`` is shorter
than the lease, a leader gives up before any follower can judge the lease expired.

Called by ``reconciler run``: ``run`` on a thread of its own, ``is_leader`` by the controller before
every write, ``release`` on a clean shutdown so that a follower takes over at its next retry.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from reconciler.swarm.lease import LeaseRecord
from reconciler.swarm.port import NameTaken, SwarmError, VersionConflict

__all__ = ["LeaderElector", "LeaseStoreLike"]

log = logging.getLogger(__name__)


class LeaseStoreLike(Protocol):
    """What the elector needs from ``reconciler.swarm.lease.LeaseStore``."""

    def read(self, instance: str) -> LeaseRecord | None: ...

    def create(self, instance: str, holder: str, duration_s: float) -> LeaseRecord: ...

    def write(self, record: LeaseRecord, **changes: Any) -> LeaseRecord: ...


class LeaderElector:
    """One replica's view of the election for ``instance``. Thread-safe.

    A replica leads at most once: after losing the lease ``run`` returns, and the process is expected
    to exit (the controller does). ``on_started`` and ``on_stopped`` run on ``run``'s thread and must
    return quickly: renewals wait for them. ``on_stopped`` is called when the lease is lost, not after
    ``release`` or when ``stop`` ends ``run``: the caller knows about those.
    """

    def __init__(
        self,
        store: LeaseStoreLike,
        instance: str,
        identity: str,
        lease_s: float = 15.0,
        renew_deadline_s: float = 10.0,
        retry_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        on_started: Callable[[], None] | None = None,
        on_stopped: Callable[[], None] | None = None,
    ) -> None:
        if not identity:
            raise ValueError("the identity must not be empty: an empty holder means released")
        if not 0 < retry_s < renew_deadline_s < lease_s:
            raise ValueError(
                f"need 0 < retry_s ({retry_s}) < renew_deadline_s ({renew_deadline_s}) < lease_s ({lease_s})"
            )
        self.store = store
        self.instance = instance
        self.identity = identity
        self.lease_s = lease_s
        self.renew_deadline_s = renew_deadline_s
        self.retry_s = retry_s
        self.clock = clock
        self.on_started = on_started
        self.on_stopped = on_stopped
        self._lock = threading.Lock()  # guards the fields below; never held across a request
        # One request sequence at a time: release must not interleave with a renew or acquire.
        self._io_lock = threading.Lock()
        self._leading = False
        self._renewed_at = 0.0  # own clock, taken BEFORE the read that led to the last good write
        self._observed: tuple[str, str, int, int] | None = None  # config id, holder, renewals, transitions
        self._observed_at = 0.0  # own clock, when ``_observed`` last changed
        self._observed_duration_s = lease_s
        self._holder: str | None = None
        self._done = False  # released, lost or stopped: this elector never leads again
        # Callbacks wait until the request lock is free, so that one may call ``release`` safely.
        self._pending: list[Callable[[], None] | None] = []

    # -- what the controller asks -----------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        with self._lock:
            # The deadline is checked here too, so a renew stuck in a slow request does not keep a
            # stale "yes" alive until the request times out; and a "no" is final (on_stopped follows).
            self._step_down_if_late()
            return self._leading

    @property
    def leader_identity(self) -> str | None:
        """Who holds the lease as last observed; None when it is released or not read yet."""
        with self._lock:
            return self._holder or None

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Blocking, for a thread of its own: watch, take, renew, until ``stop`` is set or the lease is lost."""
        log.info("leader election for %r as %r started", self.instance, self.identity)
        while not stop.is_set():
            with self._io_lock:
                if self._check_deadline():
                    break
                try:
                    self._attempt()
                except Exception:  # the loop must outlive any surprise; the deadline decides
                    log.exception("lease %r: the attempt failed unexpectedly", self.instance)
            self._flush()
            if self._check_deadline():
                break
            stop.wait(self._next_wait())
        with self._lock:
            # Stopped from outside: nobody renews any more, so this replica must not think it leads.
            self._leading = False
            self._done = True
        self._flush()
        log.info("leader election for %r as %r ended", self.instance, self.identity)

    def release(self) -> None:
        """Give the lease up (holder="") so that a follower takes it at its next retry; for a clean shutdown.

        Stops this elector for good. Without an answer from the engine the lease simply expires.
        """
        with self._lock:
            self._leading = False  # stop writing first, then tell the others
            self._done = True
        with self._io_lock:
            for _ in range(3):  # a conflict means someone wrote meanwhile: look again
                try:
                    record = self.store.read(self.instance)
                    if record is None or record.holder != self.identity:
                        return
                    self._observe(self.store.write(record, holder=""), self.clock())
                    log.info("released the lease %r", self.instance)
                    return
                except VersionConflict:
                    continue
                except SwarmError as exc:
                    log.warning("could not release the lease %r: %s; it will expire instead", self.instance, exc)
                    return

    # -- one attempt ------------------------------------------------------------------------------

    def _attempt(self) -> None:
        now = self.clock()  # before any request: the lease others see started no earlier than this
        try:
            record = self.store.read(self.instance)
            if record is None:
                self._create(now)
                return
            self._observe(record, now)
            if record.holder == self.identity:
                # Ours: renew. Also after a restart under the same identity, or when our create was
                # answered but the read-back after it was not.
                self._write(record, now, renewals=record.renewals + 1, duration_s=self.lease_s)
            elif self._is_leading():
                self._lose(f"the lease is now held by {record.holder!r}" if record.holder else "the lease was released")
            elif not record.holder or self._expired(now):
                self._write(
                    record, now, holder=self.identity, transitions=record.transitions + 1, duration_s=self.lease_s
                )
        except SwarmError as exc:
            # EngineUnavailable and friends: a failed attempt; the renew deadline decides.
            log.warning("lease %r: %s", self.instance, exc)

    def _create(self, now: float) -> None:
        try:
            record = self.store.create(self.instance, self.identity, self.lease_s)
        except NameTaken:
            return  # another replica made it first; the next read shows whose it is
        self._observe(record, now)
        self._won(now)

    def _write(self, record: LeaseRecord, now: float, **changes: Any) -> None:
        try:
            written = self.store.write(record, **changes)
        except VersionConflict:
            # Someone else wrote since our read: look again, so that a new holder counts from now.
            self._observe_again()
            return
        self._observe(written, now)
        if written.holder == self.identity:
            self._won(now)

    def _observe_again(self) -> None:
        try:
            record = self.store.read(self.instance)
        except SwarmError:
            return
        if record is not None:
            self._observe(record, self.clock())
            if self._is_leading() and record.holder != self.identity:
                self._lose(f"the lease is now held by {record.holder!r}" if record.holder else "the lease was released")

    # -- state ------------------------------------------------------------------------------------

    def _observe(self, record: LeaseRecord, now: float) -> None:
        seen = (record.config_id, record.holder, record.renewals, record.transitions)
        with self._lock:
            if seen != self._observed:
                self._observed, self._observed_at = seen, now
            # The holder's own duration counts; a missing or absurd one falls back to ours.
            duration = record.duration_s
            self._observed_duration_s = duration if math.isfinite(duration) and duration > 0 else self.lease_s
            self._holder = record.holder

    def _expired(self, now: float) -> bool:
        with self._lock:
            return now - self._observed_at >= self._observed_duration_s

    def _is_leading(self) -> bool:
        with self._lock:
            return self._leading

    def _won(self, now: float) -> None:
        with self._lock:
            if self._done:
                return
            started = not self._leading
            self._leading = True
            self._renewed_at = now
            if started:
                self._pending.append(self.on_started)
        if started:
            log.info("became the leader of %r as %r", self.instance, self.identity)

    def _check_deadline(self) -> bool:
        """Step down if the last good renew is ``renew_deadline_s`` old; True once this elector is done."""
        with self._lock:
            self._step_down_if_late()
            return self._done

    def _step_down_if_late(self) -> None:  # with ``_lock`` held
        if self._leading and self.clock() - self._renewed_at >= self.renew_deadline_s:
            self._lose_locked(f"no successful renew for {self.renew_deadline_s:g}s")

    def _lose(self, why: str) -> None:
        with self._lock:
            self._lose_locked(why)

    def _lose_locked(self, why: str) -> None:
        if self._leading:
            log.error("lost the lease %r: %s", self.instance, why)
            self._pending.append(self.on_stopped)
        self._leading = False  # before on_stopped: the controller must already see "not leader"
        self._done = True

    def _next_wait(self) -> float:
        with self._lock:
            if not self._leading:
                return self.retry_s
            # Wake exactly at the deadline rather than up to one retry after it.
            return max(0.0, min(self.retry_s, self._renewed_at + self.renew_deadline_s - self.clock()))

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for callback in pending:
            if callback is None:
                continue
            try:
                callback()
            except Exception:
                log.exception("lease %r: a leadership callback failed", self.instance)
