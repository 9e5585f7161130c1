"""Leader election: the lease record in Swarm (``reconciler.swarm.lease``) → whether this replica leads.

Semantics follow client-go's ``tools/leaderelection/leaderelection.go`` (kubernetes/client-go), with the
differences said here.

Who holds it. The holder is this process: its ``identity`` (``--identity``, for people) AND a random
``token`` drawn when the elector is made. Two processes started with the same identity are two
holders; a process restarted under its old identity is a new one and waits like any follower.

Followers. Every ``retry_s`` a follower reads the record (one request). It remembers when it last saw
the record change (holder, token, renewals or transitions), taken on its OWN monotonic clock right
AFTER the answer (client-go's ``setObservedRecord``: the holder's write may have been applied at any
moment until then), and judges the lease expired the record's duration later; wall-clock times written
by other nodes are never compared. The record's duration is trusted up to ``MAX_TRUSTED_LEASE_FACTOR``
times the follower's own ``lease_s``: a record edited to an absurd duration costs a bounded wait, and
the log says so. An expired or released lease is taken by compare-and-swap (holder, token,
transitions+1).

The leader. A renewal is ONE request: a compare-and-swap update (renewals+1) on the version the leader
already holds (client-go's "fast path" ``tryAcquireOrRenew``); only when that version is stale does it
read first. As Swarm does not answer an update with the new version, the leader reads the record back
after a renewal succeeded; that read only prepares the next renewal and is outside its deadline.

Deadlines. A renewal round is due ``retry_s`` after the start of the last successful renewal; a failed
try is retried every ``retry_s``. The leader gives up ``hold_s`` after the start of its last successful
renewal: ``retry_s + renew_deadline_s`` (client-go's leader gets ``renewDeadline`` from the start of
each renew round, which begins a retry period after the last renewal: the same when requests are
instant), but never more than halfway from ``renew_deadline_s`` to ``lease_s``. Counting from the START
of the last successful request (client-go counts from its answer) means a slow answer never stretches
how long a leader that can no longer renew keeps writing: a follower cannot have seen that renewal
before it was sent, so it cannot judge the lease expired before ``lease_s`` after that, and ``hold_s <
lease_s``. On giving up, ``is_leader`` turns False at once (even while a request hangs), then
``on_stopped`` is called and ``run`` returns.

With the defaults (lease 15 s, renew deadline 10 s, retry 2 s) a renewal that takes L seconds per
request (update, then the read-back) succeeds every max(retry, 2L) + L seconds, so a leader keeps its
lease while requests take up to about 4 s (``tests/unit/test_leader_timing.py`` on a simulated clock;
``tests/integration/test_leader_election.py`` behind a proxy that delays each request by 1.5-2 s).

Called by ``reconciler run``: ``run`` on a thread of its own, ``is_leader`` by the controller before
every write, ``release`` on a clean shutdown so that a follower takes over at its next retry.
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from reconciler.swarm.lease import LeaseRecord
from reconciler.swarm.port import NameTaken, SwarmError, VersionConflict

__all__ = ["MAX_TRUSTED_LEASE_FACTOR", "LeaderElector", "LeaseStoreLike"]

log = logging.getLogger(__name__)

# A follower waits at most this many of its own ``lease_s`` for a holder that stopped renewing, whatever
# duration the record asks for: replicas with somewhat different --lease settings still wait for each
# other, and a lease edited to days costs minutes at most.
MAX_TRUSTED_LEASE_FACTOR = 4.0


class LeaseStoreLike(Protocol):
    """What the elector needs from ``reconciler.swarm.lease.LeaseStore`` (each call one request)."""

    def read(self, instance: str) -> LeaseRecord | None: ...

    def create(self, instance: str, holder: str, duration_s: float, token: str = "") -> LeaseRecord: ...

    def write(self, record: LeaseRecord, **changes: Any) -> LeaseRecord: ...


class LeaderElector:
    """One replica's view of the election for ``instance``. Thread-safe.

    A replica leads at most once: after losing the lease ``run`` returns, and the process is expected
    to exit (the controller does). ``on_started`` and ``on_stopped`` run on ``run``'s thread and must
    return quickly: renewals wait for them. ``on_stopped`` is called when the lease is lost, not after
    ``release`` or when ``stop`` ends ``run``: the caller knows about those. ``token`` is drawn at random
    unless given (tests).
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
        token: str | None = None,
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
        self.token = token or secrets.token_hex(8)  # 64 bits: no two processes draw the same
        self.lease_s = lease_s
        self.renew_deadline_s = renew_deadline_s
        self.retry_s = retry_s
        # Seconds after the start of the last successful renewal at which a leader gives up (module doc).
        self.hold_s = min(retry_s + renew_deadline_s, (renew_deadline_s + lease_s) / 2)
        self.max_trusted_lease_s = MAX_TRUSTED_LEASE_FACTOR * lease_s
        self.clock = clock
        self.on_started = on_started
        self.on_stopped = on_stopped
        self._lock = threading.Lock()  # guards the fields below; never held across a request
        # One request sequence at a time: release must not interleave with a renew or acquire.
        self._io_lock = threading.Lock()
        self._leading = False
        self._renewed_at = -math.inf  # own clock, taken just BEFORE the request of the last successful renewal
        self._renew_failed = False  # the last renewal round did not succeed yet: retry every retry_s
        self._record: LeaseRecord | None = None  # the last record read or written (version None: written)
        self._observed: tuple[str, str, str, int, int] | None = None  # id, holder, token, renewals, transitions
        self._observed_at = 0.0  # own clock, when ``_observed`` last changed, taken after the answer
        self._observed_duration_s = lease_s
        self._distrusted: float | None = None  # the last duration refused as too long (logged once)
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
        """Who holds the lease as last observed (the ``--identity``); None when it is released or not read yet."""
        with self._lock:
            return self._holder or None

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Blocking, for a thread of its own: watch, take, renew, until ``stop`` is set or the lease is lost."""
        log.info("leader election for %r as %r (token %s) started", self.instance, self.identity, self.token)
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
            record = self._record
            for _ in range(3):  # a conflict means someone wrote meanwhile: look again
                try:
                    if record is None or record.version is None:
                        record = self.store.read(self.instance)
                    if record is None or not record.held_by(self.identity, self.token):
                        return
                    self._observe(self.store.write(record, holder="", token=""), self.clock())
                    log.info("released the lease %r", self.instance)
                    return
                except VersionConflict:
                    record = None
                except SwarmError as exc:
                    log.warning("could not release the lease %r: %s; it will expire instead", self.instance, exc)
                    return

    # -- one attempt ------------------------------------------------------------------------------

    def _attempt(self) -> None:
        try:
            if self._is_leading():
                self._renew()
            else:
                self._acquire()
        except SwarmError as exc:
            # EngineUnavailable and friends: a failed attempt; the deadline decides.
            log.warning("lease %r: %s", self.instance, exc)

    def _renew(self) -> None:
        """The leader's round: one compare-and-swap on the version held; a read first only when it is stale."""
        with self._lock:
            self._renew_failed = True  # until this round succeeds
        record = self._record
        if record is None or record.version is None:
            record = self._read()
            if not self._still_ours(record):
                return
        assert record is not None and record.version is not None
        try:
            self._write(record, renewals=record.renewals + 1)
        except VersionConflict:
            # Someone wrote since our last read: the lease may be someone else's now. Look, and if it is
            # still ours (our own earlier write went through unanswered), try once more right away.
            record = self._read()
            if self._still_ours(record):
                assert record is not None
                self._write(record, renewals=record.renewals + 1)

    def _acquire(self) -> None:
        """A follower's round: read, and take the lease if it is released, expired, or already ours."""
        record = self._read()
        if record is None:
            self._create()
            return
        try:
            if record.held_by(self.identity, self.token):
                # Our own earlier take went through although its answer was lost: renew it as ours.
                self._write(record, renewals=record.renewals + 1)
            elif not record.holder or self._expired(self.clock()):
                self._write(record, transitions=record.transitions + 1)
        except VersionConflict:
            self._read()  # someone else wrote first: a new holder counts from now

    def _create(self) -> None:
        started = self.clock()
        try:
            created = self.store.create(self.instance, self.identity, self.lease_s, token=self.token)
        except NameTaken:
            return  # another replica made it first; the next read shows whose it is
        self._record = created
        self._observe(created, self.clock())
        self._won(started)
        self._read_back()

    def _write(self, record: LeaseRecord, **changes: Any) -> None:
        """Compare-and-swap ``record`` into one held by this process; on success this process leads."""
        started = self.clock()  # before the request: no follower can have seen the write earlier
        written = self.store.write(record, holder=self.identity, token=self.token, duration_s=self.lease_s, **changes)
        self._record = written  # version None: if the read-back fails, the next round reads first
        self._observe(written, self.clock())
        self._won(started)
        self._read_back()

    def _read_back(self) -> None:
        """Learn the version our write made, for the next renewal's compare-and-swap. Outside the deadline:
        a failure here only means the next round reads first."""
        try:
            self._still_ours(self._read())
        except SwarmError as exc:
            log.debug("lease %r: reading back after a write failed: %s", self.instance, exc)

    def _read(self) -> LeaseRecord | None:
        record = self.store.read(self.instance)
        if record is not None:
            self._observe(record, self.clock())  # after the answer: the conservative moment
        self._record = record
        return record

    def _still_ours(self, record: LeaseRecord | None) -> bool:
        """After a read: False (and a lost lease, if this replica led) when the record is no longer ours."""
        if record is not None and record.held_by(self.identity, self.token):
            return True
        if self._is_leading():
            if record is None:
                why = "the lease config was removed"
            elif not record.holder:
                why = "the lease was released"
            elif record.holder == self.identity:
                why = f"the lease is now held by another process with the identity {record.holder!r}"
            else:
                why = f"the lease is now held by {record.holder!r}"
            self._lose(why)
        return False

    # -- state ------------------------------------------------------------------------------------

    def _observe(self, record: LeaseRecord, now: float) -> None:
        seen = (record.config_id, record.holder, record.token, record.renewals, record.transitions)
        duration = record.duration_s
        if not (math.isfinite(duration) and duration > 0):
            duration = self.lease_s  # missing or unreadable: our own
        elif duration > self.max_trusted_lease_s:
            if duration != self._distrusted:
                self._distrusted = duration
                log.warning(
                    "the lease %r asks followers to wait %gs; trusting at most %gs (%g x --lease)",
                    self.instance, duration, self.max_trusted_lease_s, MAX_TRUSTED_LEASE_FACTOR,
                )  # fmt: skip
            duration = self.max_trusted_lease_s
        with self._lock:
            if seen != self._observed:
                self._observed, self._observed_at = seen, now
            self._observed_duration_s = duration
            self._holder = record.holder

    def _expired(self, now: float) -> bool:
        with self._lock:
            return now - self._observed_at >= self._observed_duration_s

    def _is_leading(self) -> bool:
        with self._lock:
            return self._leading

    def _won(self, started: float) -> None:
        with self._lock:
            if self._done:
                return
            was_leading = self._leading
            self._leading = True
            self._renewed_at = max(self._renewed_at, started)
            self._renew_failed = False
            if not was_leading:
                self._pending.append(self.on_started)
        if not was_leading:
            log.info("became the leader of %r as %r (token %s)", self.instance, self.identity, self.token)

    def _check_deadline(self) -> bool:
        """Step down if the last good renewal is ``hold_s`` old; True once this elector is done."""
        with self._lock:
            self._step_down_if_late()
            return self._done

    def _step_down_if_late(self) -> None:  # with ``_lock`` held
        if self._leading and self.clock() - self._renewed_at >= self.hold_s:
            self._lose_locked(f"no successful renewal for {self.hold_s:g}s")

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
            now = self.clock()
            if not self._renew_failed:
                # The next round is due retry_s after the start of the last successful renewal.
                return max(0.0, self._renewed_at + self.retry_s - now)
            # A round in trouble: retry every retry_s, and wake exactly at the deadline rather than after it.
            return max(0.0, min(self.retry_s, self._renewed_at + self.hold_s - now))

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
