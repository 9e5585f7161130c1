"""The election's timing on a simulated clock: when a follower takes the lease, when a leader steps down,
what a release does, and that two electors never both lead.

The real ``LeaderElector.run`` loops run on threads, but their waits are driven by a discrete-event
simulator (``Sim``): time jumps from one wake-up to the next, so minutes of leases take milliseconds
and every instant can be checked. ``MemoryLeaseStore`` is a test double for TIMING only: it keeps the
real store's contract (create fails with ``NameTaken`` if the lease exists, a write with a stale
version fails with ``VersionConflict``, versions jump like raft indexes). The same behaviours are
proven against the lab's engine in ``tests/integration/test_leader_election.py``.
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from reconciler.runtime.leader import LeaderElector
from reconciler.swarm.lease import LeaseRecord
from reconciler.swarm.port import EngineUnavailable, NameTaken, NotFound, VersionConflict

LEASE, DEADLINE, RETRY = 15.0, 10.0, 2.0
REAL_TIMEOUT = 10.0  # seconds of real time a runner may take to reach its next wait before a test fails


class Sim:
    """Simulated time for elector loops on threads: time advances only while every loop waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.cv = threading.Condition()
        self.wakes: dict[SimStop, float] = {}
        self.alive: set[SimStop] = set()
        self.stops: list[SimStop] = []  # every loop started, so the test can end them all

    def clock(self, offset: float = 0.0) -> Callable[[], float]:
        # Each elector may have its own origin: only differences on one clock may matter.
        return lambda: self.now + offset

    def start(self, elector: LeaderElector) -> SimStop:
        stop = SimStop(self)
        with self.cv:
            self.alive.add(stop)
            self.stops.append(stop)

        def body() -> None:
            try:
                elector.run(stop)
            finally:
                with self.cv:
                    self.alive.discard(stop)
                    self.wakes.pop(stop, None)
                    self.cv.notify_all()

        threading.Thread(target=body, daemon=True, name=f"elector-{elector.identity}").start()
        self.settle()
        return stop

    def kill(self, stop: SimStop) -> None:
        """Stop a loop without releasing: what kill -9 leaves behind (nobody renews)."""
        stop.set()
        with self.cv:
            self.wakes.pop(stop, None)
            self.cv.notify_all()
        self.settle()

    def settle(self) -> None:
        with self.cv:
            ok = self.cv.wait_for(lambda: all(s in self.wakes for s in self.alive), timeout=REAL_TIMEOUT)
        assert ok, "an elector loop did not come back to its wait"

    def advance(self, until: float, check: Callable[[], None] | None = None) -> None:
        """Run every loop up to ``until``, calling ``check`` after each instant something ran."""
        while True:
            self.settle()
            with self.cv:
                due = min(self.wakes.values(), default=math.inf)
                if due > until:
                    self.now = max(self.now, until)
                    return
                self.now = max(self.now, due)
                for stop, wake in list(self.wakes.items()):
                    if wake <= self.now:
                        del self.wakes[stop]
                self.cv.notify_all()
            self.settle()
            if check is not None:
                check()

    def advance_until(self, condition: Callable[[], bool], limit: float, step: float = 0.1) -> float:
        """Advance in small steps until ``condition`` holds; the simulated time then (``limit`` at most)."""
        while self.now < limit:
            self.advance(min(self.now + step, limit))
            if condition():
                return self.now
        raise AssertionError(f"not reached by t={limit}")


class SimStop(threading.Event):
    """The ``stop`` event given to ``run``: its ``wait(timeout)`` sleeps on simulated time."""

    def __init__(self, sim: Sim) -> None:
        super().__init__()
        self.sim = sim

    def wait(self, timeout: float | None = None) -> bool:
        if self.is_set():
            return True
        sim = self.sim
        with sim.cv:
            sim.wakes[self] = sim.now + (math.inf if timeout is None else timeout)
            sim.cv.notify_all()
            woke = sim.cv.wait_for(lambda: self not in sim.wakes or self.is_set(), timeout=REAL_TIMEOUT * 3)
            sim.wakes.pop(self, None)
        assert woke, "the simulation was never advanced"
        return self.is_set()


class MemoryLeaseStore:
    """``LeaseStore``'s contract in memory, with a history of writes on simulated time."""

    def __init__(self, sim: Sim) -> None:
        self.sim = sim
        self._lock = threading.Lock()
        self._records: dict[str, LeaseRecord] = {}
        self._index = 1000
        self.history: list[tuple[float, LeaseRecord]] = []

    def _next_version(self) -> int:
        self._index += 7  # raft indexes: shared by every object, so they jump
        return self._index

    def read(self, instance: str) -> LeaseRecord | None:
        with self._lock:
            return self._records.get(instance)

    def create(self, instance: str, holder: str, duration_s: float) -> LeaseRecord:
        with self._lock:
            if instance in self._records:
                raise NameTaken(f"config reconciler-lease-{instance} already exists", 409)
            record = LeaseRecord(holder, 0, 0, duration_s, self._next_version(), f"id-{instance}")
            self._records[instance] = record
            self.history.append((self.sim.now, record))
            return record

    def write(self, record: LeaseRecord, **changes: Any) -> LeaseRecord:
        assert not {"version", "config_id"} & changes.keys()
        with self._lock:
            instance = next((i for i, r in self._records.items() if r.config_id == record.config_id), None)
            if instance is None:
                raise NotFound(f"config {record.config_id} not found", 404)
            if self._records[instance].version != record.version:
                raise VersionConflict("update out of sequence", 500)
            written = dataclasses.replace(record, **changes, version=self._next_version())
            self._records[instance] = written
            self.history.append((self.sim.now, written))
            return written

    def last_change(self) -> float:
        with self._lock:
            return self.history[-1][0]


class FlakyStore:
    """One replica's path to the store, which can fail like an engine that does not answer."""

    def __init__(self, inner: MemoryLeaseStore) -> None:
        self.inner = inner
        self.down = False

    def _check(self) -> None:
        if self.down:
            raise EngineUnavailable("no answer from the engine")

    def read(self, instance: str) -> LeaseRecord | None:
        self._check()
        return self.inner.read(instance)

    def create(self, instance: str, holder: str, duration_s: float) -> LeaseRecord:
        self._check()
        return self.inner.create(instance, holder, duration_s)

    def write(self, record: LeaseRecord, **changes: Any) -> LeaseRecord:
        self._check()
        return self.inner.write(record, **changes)


class Replica:
    """An elector with its own store path and clock, and a log of its callbacks."""

    def __init__(
        self, sim: Sim, store: MemoryLeaseStore, identity: str, offset: float = 0.0, deadline: float = DEADLINE
    ) -> None:
        self.sim = sim
        self.store = FlakyStore(store)
        self.started: list[float] = []
        self.stopped: list[tuple[float, bool]] = []  # (when, is_leader as seen inside on_stopped)
        self.elector = LeaderElector(
            self.store,
            "test",
            identity,
            lease_s=LEASE,
            renew_deadline_s=deadline,
            retry_s=RETRY,
            clock=sim.clock(offset),
            on_started=lambda: self.started.append(sim.now),
            on_stopped=lambda: self.stopped.append((sim.now, self.elector.is_leader)),
        )
        self.stop: SimStop | None = None

    def start(self) -> Replica:
        self.stop = self.sim.start(self.elector)
        return self

    def kill(self) -> None:
        assert self.stop is not None
        self.sim.kill(self.stop)

    @property
    def leads(self) -> bool:
        return self.elector.is_leader


@pytest.fixture
def sim() -> Iterator[Sim]:
    simulation = Sim()
    yield simulation
    # "Killed" replicas stay blocked on simulated time: end their threads with the test.
    with simulation.cv:
        for stop in simulation.stops:
            stop.set()
        simulation.cv.notify_all()


@pytest.fixture
def store(sim: Sim) -> MemoryLeaseStore:
    return MemoryLeaseStore(sim)


def test_the_first_replica_creates_the_lease_and_leads_while_the_other_follows(
    sim: Sim, store: MemoryLeaseStore
) -> None:
    a = Replica(sim, store, "a").start()
    b = Replica(sim, store, "b", offset=5000.0).start()
    sim.advance(60.0, check=lambda: assert_at_most_one_leads(a, b))
    assert a.leads and not b.leads
    assert a.started == [0.0] and not a.stopped and not b.started
    assert b.elector.leader_identity == "a" and a.elector.leader_identity == "a"
    record = store.read("test")
    assert record is not None and record.holder == "a" and record.transitions == 0
    assert record.renewals >= 60.0 / RETRY - 1  # renewed every retry: observers see progress


def test_a_follower_takes_a_dead_leaders_lease_only_after_a_lease_of_no_change_on_its_own_clock(
    sim: Sim, store: MemoryLeaseStore
) -> None:
    a = Replica(sim, store, "a").start()
    b = Replica(sim, store, "b", offset=-123_456.0).start()  # another origin: nothing but differences count
    sim.advance(31.0)
    a.kill()
    last_renew = store.last_change()
    took = sim.advance_until(lambda: b.leads, limit=last_renew + 60.0, step=0.25)
    # b saw the last renew at its next read (within one retry) and waits a full lease from then.
    assert last_renew + LEASE <= took <= last_renew + LEASE + 2 * RETRY
    record = store.read("test")
    assert record is not None and record.holder == "b" and record.transitions == 1
    assert b.started == [took] and not a.stopped  # a was killed, not deposed: no callback


def test_a_late_follower_waits_a_full_lease_however_old_the_record_is(sim: Sim, store: MemoryLeaseStore) -> None:
    a = Replica(sim, store, "a").start()
    sim.advance(1.0)
    a.kill()
    sim.advance(500.0)  # the record has not changed for ages: the follower cannot know that
    b = Replica(sim, store, "b", offset=42.0).start()
    took = sim.advance_until(lambda: b.leads, limit=600.0, step=0.25)
    assert 500.0 + LEASE <= took <= 500.0 + LEASE + RETRY


def test_a_leader_that_cannot_renew_steps_down_at_its_deadline_once(sim: Sim, store: MemoryLeaseStore) -> None:
    deadline = 9.5  # not a multiple of the retry: the loop wakes at the deadline, not at the next retry
    a = Replica(sim, store, "a", deadline=deadline).start()
    b = Replica(sim, store, "b").start()
    sim.advance(20.5)
    a.store.down = True  # every request of a's fails from now on
    last_renew = store.last_change()
    sim.advance(last_renew + deadline - 0.01)
    assert a.leads
    sim.advance(last_renew + deadline)
    assert a.stopped == [(last_renew + deadline, False)]  # once, and is_leader was already False inside
    assert not a.leads
    sim.advance(last_renew + 100.0, check=lambda: assert_at_most_one_leads(a, b))
    assert len(a.stopped) == 1 and not a.leads and b.leads
    assert sim.now >= last_renew + LEASE  # b only took it once a's lease had expired


def test_a_renew_stuck_in_a_slow_request_is_no_longer_leading_at_the_deadline(
    sim: Sim, store: MemoryLeaseStore
) -> None:
    """``is_leader`` is checked against the deadline itself, and a "no" is final."""
    a = Replica(sim, store, "a").start()
    sim.advance(10.5)
    last_renew = store.last_change()
    entered, release = threading.Event(), threading.Event()
    inner_write = store.write

    def hanging_write(record: LeaseRecord, **changes: Any) -> LeaseRecord:
        entered.set()
        assert release.wait(REAL_TIMEOUT)
        return inner_write(record, **changes)

    store.write = hanging_write  # type: ignore[method-assign]
    with sim.cv:  # the loop wakes for its next renew, which hangs
        sim.now = last_renew + RETRY
        sim.wakes.clear()
        sim.cv.notify_all()
    assert entered.wait(REAL_TIMEOUT)
    assert a.leads
    sim.now = last_renew + DEADLINE  # time passes while the request hangs
    assert not a.leads
    release.set()  # the renew then succeeds, too late: a stays down
    sim.settle()
    assert not a.leads and [is_leader for _, is_leader in a.stopped] == [False]
    assert not sim.alive  # run returned


def test_release_lets_a_follower_take_over_at_its_next_retry(sim: Sim, store: MemoryLeaseStore) -> None:
    a = Replica(sim, store, "a").start()
    b = Replica(sim, store, "b").start()
    sim.advance(7.3)
    assert a.leads
    a.elector.release()
    released_at = sim.now
    assert not a.leads
    record = store.read("test")
    assert record is not None and record.holder == "" and record.transitions == 0
    took = sim.advance_until(lambda: b.leads, limit=released_at + 30.0, step=0.1)
    assert took <= released_at + RETRY + 0.1
    assert not a.stopped  # a release is not a loss: on_stopped is for losses
    sim.advance(released_at + 60.0, check=lambda: assert_at_most_one_leads(a, b))
    assert b.leads and not a.leads and not sim.alive - {b.stop}  # a's loop ended


def test_a_leader_that_sees_another_holder_steps_down_at_once(sim: Sim, store: MemoryLeaseStore) -> None:
    a = Replica(sim, store, "a").start()
    sim.advance(4.5)
    record = store.read("test")
    assert record is not None
    store.write(record, holder="intruder", transitions=record.transitions + 1)
    sim.advance(4.5 + RETRY)
    assert not a.leads and len(a.stopped) == 1


def test_two_replicas_starting_together_elect_one(sim: Sim, store: MemoryLeaseStore) -> None:
    replicas = [Replica(sim, store, name) for name in "abcd"]
    for replica in replicas:
        replica.start()
    sim.advance(30.0, check=lambda: assert_at_most_one_leads(*replicas))
    assert sum(r.leads for r in replicas) == 1
    assert sum(len(r.started) for r in replicas) == 1


@pytest.mark.parametrize("seed", range(8))
def test_two_electors_never_both_lead_through_failures_kills_and_releases(
    sim: Sim, store: MemoryLeaseStore, seed: int
) -> None:
    rng = random.Random(seed)
    serial = iter(range(1000))

    def new_replica() -> Replica:
        return Replica(sim, store, f"r{next(serial)}", offset=rng.uniform(-1e4, 1e4)).start()

    replicas = [new_replica() for _ in range(3)]
    everyone: list[Replica] = list(replicas)

    def check() -> None:
        assert_at_most_one_leads(*everyone)

    t = 0.0
    while t < 400.0:
        t += rng.uniform(0.3, 9.0)
        sim.advance(t, check=check)
        victim = rng.randrange(len(replicas))
        action = rng.random()
        if action < 0.45:
            replicas[victim].store.down = not replicas[victim].store.down
        elif action < 0.7:
            replicas[victim].kill()
            replicas[victim] = new_replica()
            everyone.append(replicas[victim])
        elif action < 0.85:
            replicas[victim].elector.release()
            replicas[victim].kill()
            replicas[victim] = new_replica()
            everyone.append(replicas[victim])
    for replica in replicas:  # heal everything: someone leads again within a lease and some retries
        replica.store.down = False
        if replica.stop is not None and replica.stop not in sim.alive:
            everyone.append(new_replica())
    sim.advance(t + LEASE + 3 * RETRY, check=check)
    assert sum(r.leads for r in everyone) == 1


def assert_at_most_one_leads(*replicas: Replica) -> None:
    leaders = [r.elector.identity for r in replicas if r.leads]
    assert len(leaders) <= 1, f"both lead: {leaders}"
