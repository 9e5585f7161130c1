"""The election's timing on a simulated clock (``tests/unit/leader_sim.py``): when a follower takes the
lease, when a leader steps down, what a release does, that two electors never both lead, and the holes
of issue 14: two processes with one ``--identity``, a lease edited to an absurd duration, and a slow
Engine API (the real ``LeaseStore`` over ``SimEngine``, each request taking 1.5-3 simulated seconds).

The same behaviours are proven against the lab's engine in ``tests/integration/test_leader_election.py``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from reconciler.runtime.leader import LeaderElector
from reconciler.swarm.lease import LeaseRecord, LeaseStore
from tests.unit.leader_sim import (
    DEADLINE,
    LEASE,
    REAL_TIMEOUT,
    RETRY,
    FlakyStore,
    MemoryLeaseStore,
    Sim,
    SimEngine,
    SimStop,
    SimSwarmConfigs,
)


class Replica:
    """An elector with its own path to the store (``FlakyStore`` over ``store``, or the real ``LeaseStore``
    over ``engine``) and its own clock, and a log of its callbacks."""

    def __init__(
        self,
        sim: Sim,
        store: MemoryLeaseStore | None,
        identity: str,
        offset: float = 0.0,
        deadline: float = DEADLINE,
        engine: SimEngine | None = None,
    ) -> None:
        self.sim = sim
        self.engine = engine
        self.store: Any = LeaseStore(engine) if engine is not None else FlakyStore(store)  # type: ignore[arg-type]
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
    simulation.end()  # "killed" replicas stay blocked on simulated time: end their threads with the test


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
    """The renew deadline counts from when the round was due, a retry after the start of the last good
    renewal (client-go's renewDeadline counts from the start of the round): at retry + deadline."""
    deadline = 9.5  # not a multiple of the retry: the loop wakes at the deadline, not at the next retry
    a = Replica(sim, store, "a", deadline=deadline).start()
    b = Replica(sim, store, "b").start()
    sim.advance(20.5)
    a.store.down = True  # every request of a's fails from now on
    last_renew = store.last_change()
    gives_up = last_renew + RETRY + deadline
    assert a.elector.hold_s == RETRY + deadline
    sim.advance(gives_up - 0.01)
    assert a.leads
    sim.advance(gives_up)
    assert a.stopped == [(gives_up, False)]  # once, and is_leader was already False inside
    assert not a.leads
    sim.advance(last_renew + 100.0, check=lambda: assert_at_most_one_leads(a, b))
    assert len(a.stopped) == 1 and not a.leads and b.leads
    assert sim.now >= last_renew + LEASE  # b only took it once a's lease had expired


def test_a_leader_never_holds_on_past_halfway_from_its_deadline_to_the_lease() -> None:
    """With a retry close to the deadline, retry + deadline would reach past the lease: capped."""
    elector = LeaderElector(MemoryLeaseStore(Sim()), "test", "a", lease_s=15.0, renew_deadline_s=10.0, retry_s=8.0)
    assert elector.hold_s == 12.5 < elector.lease_s


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
    sim.now = last_renew + a.elector.hold_s  # time passes while the request hangs
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


# -- issue 14: one identity, two processes --------------------------------------------------------------


def test_two_processes_with_the_same_identity_never_both_lead(sim: Sim, store: MemoryLeaseStore) -> None:
    """The holder is the identity AND the process's token: a second process under the same --identity
    is a follower (before: both renewed the lease as theirs and both led)."""
    a = Replica(sim, store, "replica").start()
    twin = Replica(sim, store, "replica", offset=77.0).start()
    sim.advance(120.0, check=lambda: assert_at_most_one_leads(a, twin))
    assert a.leads and not twin.leads and not twin.started
    assert a.elector.token != twin.elector.token
    record = store.read("test")
    assert record is not None and record.token == a.elector.token and record.transitions == 0
    assert twin.elector.leader_identity == "replica"  # what /status shows: the identity


def test_a_process_restarted_under_a_killed_leaders_identity_waits_out_its_lease(
    sim: Sim, store: MemoryLeaseStore
) -> None:
    a = Replica(sim, store, "replica").start()
    sim.advance(9.0)
    a.kill()
    last_renew = store.last_change()
    again = Replica(sim, store, "replica", offset=-5.0).start()  # the same --identity, a new process
    took = sim.advance_until(lambda: again.leads, limit=last_renew + 60.0, step=0.25)
    assert last_renew + LEASE <= took <= last_renew + LEASE + 2 * RETRY
    record = store.read("test")
    assert record is not None and record.transitions == 1 and record.token == again.elector.token


# -- issue 14: a forged lease duration ----------------------------------------------------------------


def test_a_lease_edited_to_an_absurd_duration_costs_followers_a_bounded_wait(
    sim: Sim, store: MemoryLeaseStore, caplog: pytest.LogCaptureFixture
) -> None:
    """The real leader steps down; the follower trusts the record's duration only up to 4 of its own
    leases, says so in the log, and then takes over (before: it waited 10^9 s)."""
    a = Replica(sim, store, "a").start()
    b = Replica(sim, store, "b").start()
    sim.advance(6.5)
    record = store.read("test")
    assert record is not None
    with caplog.at_level(logging.WARNING, logger="reconciler.runtime.leader"):
        store.write(record, holder="forger", token="x", transitions=record.transitions + 1, duration_s=1e9)
        forged_at = sim.now
        sim.advance(forged_at + RETRY + 0.1)
        assert not a.leads and len(a.stopped) == 1  # a saw another holder at its next renewal
        took = sim.advance_until(lambda: b.leads, limit=forged_at + 600.0, step=0.5)
    bound = b.elector.max_trusted_lease_s
    assert bound == 4 * LEASE
    assert forged_at + bound <= took <= forged_at + bound + 2 * RETRY + 0.5
    assert any("asks followers to wait 1e+09s; trusting at most 60s" in r.getMessage() for r in caplog.records)


def test_a_duration_within_the_bound_is_honoured(sim: Sim, store: MemoryLeaseStore) -> None:
    """A holder with a longer --lease (up to 4x ours) is waited for in full: mixed settings stay safe."""
    store.create("test", "slow-settings", 45.0, token="t")
    written_at = sim.now
    b = Replica(sim, store, "b").start()
    took = sim.advance_until(lambda: b.leads, limit=200.0, step=0.25)
    assert written_at + 45.0 <= took <= written_at + 45.0 + RETRY + 0.5


# -- issue 14: a slow Engine API ----------------------------------------------------------------------


@pytest.fixture
def configs() -> SimSwarmConfigs:
    return SimSwarmConfigs()


@pytest.mark.parametrize("latency", [1.5, 2.0, 3.0])
def test_a_leader_keeps_its_lease_when_every_request_is_slow(
    sim: Sim, configs: SimSwarmConfigs, latency: float
) -> None:
    """The real ``LeaseStore`` over an engine that takes ``latency`` s per request, default timings: the
    leader renews with one update per round and keeps the lease; the follower never takes it (before:
    read, update and read back per renewal, the deadline from the previous round's start: the leader
    gave up after about 10 s at 1.5 s per request)."""
    a = Replica(sim, None, "a", engine=SimEngine(sim, configs, latency)).start()
    sim.advance_until(lambda: a.leads, limit=10.0)
    b = Replica(sim, None, "b", offset=999.0, engine=SimEngine(sim, configs, latency)).start()
    sim.advance(300.0, check=lambda: assert_leads_alone(a, b))
    assert not a.stopped and a.started and not b.started
    record = LeaseStore(SimEngine(sim, configs)).read("test")  # type: ignore[arg-type]
    assert record is not None and record.holder == "a" and record.transitions == 0
    # The follower saw progress far more often than once a lease.
    assert record.renewals >= 300.0 / (2 * latency + latency) - 2


def test_a_renewal_is_one_update_on_the_version_held_then_a_read_back(sim: Sim, configs: SimSwarmConfigs) -> None:
    """Request by request, a steady leader alternates: update (the renewal) then GET (the new version for
    the next compare-and-swap); it never reads before it writes."""
    engine = SimEngine(sim, configs, latency=0.2)
    a = Replica(sim, None, "a", engine=engine).start()
    sim.advance(60.0)
    assert a.leads
    after_create = engine.log[3:]  # GET (no lease yet), create, GET (the version)
    steady = [(method, "update" if path.endswith("/update") else path) for _, method, path in after_create]
    renewals = [m for m in steady if m[1] == "update"]
    assert len(renewals) >= 60.0 / RETRY - 2
    assert steady[0::2] == [("POST", "update")] * len(steady[0::2])
    assert steady[1::2] == [("GET", "/configs/reconciler-lease-test")] * len(steady[1::2])


def test_the_renewal_counts_from_the_start_of_its_request_not_its_answer(sim: Sim, configs: SimSwarmConfigs) -> None:
    """A leader whose engine stops answering gives up retry + deadline after the START of its last good
    renewal however slowly that renewal was answered, so no follower can judge the lease expired first."""
    latency = 3.0
    engine = SimEngine(sim, configs, latency)
    a = Replica(sim, None, "a", engine=engine).start()
    sim.advance_until(lambda: a.leads, limit=10.0)
    b = Replica(sim, None, "b", engine=SimEngine(sim, configs, 0.1)).start()
    sim.advance(40.0, check=lambda: assert_leads_alone(a, b))
    updates = [t for t, method, path in engine.log if path.endswith("/update")]
    last_started = updates[-1] - latency  # the simulated time the last update was sent
    engine.latency = 1e6  # from now on no request of a's is answered
    sim.advance(last_started + RETRY + DEADLINE - 0.01)
    assert a.leads  # still within its deadline
    sim.advance_until(lambda: not a.leads, limit=last_started + RETRY + DEADLINE + 0.5, step=0.05)
    gave_up = sim.now
    assert gave_up <= last_started + a.elector.hold_s + 0.05
    took = sim.advance_until(lambda: b.leads, limit=gave_up + 60.0, step=0.25)
    assert took >= last_started + LEASE > gave_up


def assert_leads_alone(leader: Replica, follower: Replica) -> None:
    assert leader.leads and not follower.leads, "the leader lost the lease, or the follower took it"


def assert_at_most_one_leads(*replicas: Replica) -> None:
    leaders = [r.elector.identity for r in replicas if r.leads]
    assert len(leaders) <= 1, f"both lead: {leaders}"
