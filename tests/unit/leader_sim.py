"""Simulated time and lease stores for the election's timing tests (``test_leader_timing.py``).

The real ``LeaderElector.run`` loops run on threads, but their waits are driven by a discrete-event
simulator (``Sim``): time jumps from one wake-up to the next, so minutes of leases take milliseconds
and every instant can be checked. A request may take simulated time too (``Sim.sleep``), so a slow
Engine API can be modelled.

Two stores: ``MemoryLeaseStore`` keeps ``LeaseStore``'s contract in memory (create fails with
``NameTaken`` if the lease exists, a write with a stale version fails with ``VersionConflict``, versions
jump like raft indexes, and a write answers without the new version, as Swarm's does), for TIMING
only. ``SimEngine`` is instead the few Engine API calls the real ``LeaseStore`` makes (GET a config,
create one, update one's labels at a version), each taking ``latency`` simulated seconds, half before
the engine acts and half after, and logged: the real store runs over it, request for request.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
from collections.abc import Callable
from typing import Any

from reconciler.runtime.leader import LeaderElector
from reconciler.swarm.lease import LeaseRecord
from reconciler.swarm.port import EngineUnavailable, NameTaken, NotFound, VersionConflict

LEASE, DEADLINE, RETRY = 15.0, 10.0, 2.0  # the defaults of ``reconciler run``
REAL_TIMEOUT = 10.0  # seconds of real time a runner may take to reach its next wait before a test fails


class Sim:
    """Simulated time for elector loops on threads: time advances only while every loop waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.cv = threading.Condition()
        self.wakes: dict[SimStop, float] = {}
        self.alive: set[SimStop] = set()
        self.stops: list[SimStop] = []  # every loop started, so the test can end them all
        self._threads: dict[int, SimStop] = {}  # thread ident → its loop's stop, for ``sleep``
        self.ended = False  # ``end`` was called: no wait blocks any more

    def clock(self, offset: float = 0.0) -> Callable[[], float]:
        # Each elector may have its own origin: only differences on one clock may matter.
        return lambda: self.now + offset

    def start(self, elector: LeaderElector) -> SimStop:
        stop = SimStop(self)
        with self.cv:
            self.alive.add(stop)
            self.stops.append(stop)

        def body() -> None:
            with self.cv:
                self._threads[threading.get_ident()] = stop
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

    def sleep(self, seconds: float) -> None:
        """Let a request take ``seconds`` of simulated time; no time passes on a thread that is no loop's."""
        with self.cv:
            stop = self._threads.get(threading.get_ident())
            if stop is None or seconds <= 0 or self.ended:
                return
            self.wakes[stop] = self.now + seconds
            self.cv.notify_all()
            woke = self.cv.wait_for(lambda: stop not in self.wakes or self.ended, timeout=REAL_TIMEOUT * 3)
        assert woke, "the simulation was never advanced"

    def kill(self, stop: SimStop) -> None:
        """Stop a loop without releasing: what kill -9 leaves behind (nobody renews)."""
        stop.set()
        with self.cv:
            self.wakes.pop(stop, None)
            self.cv.notify_all()
        self.settle()

    def end(self) -> None:
        """End every loop, killed ones included (they may still wait on simulated time), and wait for their
        threads: a request half done when the test ended would otherwise wait for simulated time that
        never comes, fail 30 s later and log into whichever test runs then (CI, stop 21)."""
        with self.cv:
            self.ended = True
            for stop in self.stops:
                stop.set()
            self.wakes.clear()
            self.cv.notify_all()
            ended = self.cv.wait_for(lambda: not self.alive, timeout=REAL_TIMEOUT)
        assert ended, "an elector loop did not end"

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
            woke = sim.cv.wait_for(
                lambda: self not in sim.wakes or self.is_set() or sim.ended, timeout=REAL_TIMEOUT * 3
            )
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

    def create(self, instance: str, holder: str, duration_s: float, token: str = "") -> LeaseRecord:
        with self._lock:
            if instance in self._records:
                raise NameTaken(f"config reconciler-lease-{instance} already exists", 409)
            record = LeaseRecord(holder, 0, 0, duration_s, self._next_version(), f"id-{instance}", token)
            self._records[instance] = record
            self.history.append((self.sim.now, record))
            return dataclasses.replace(record, version=None)

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
            return dataclasses.replace(written, version=None)  # Swarm answers an update with no body

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

    def create(self, instance: str, holder: str, duration_s: float, token: str = "") -> LeaseRecord:
        self._check()
        return self.inner.create(instance, holder, duration_s, token=token)

    def write(self, record: LeaseRecord, **changes: Any) -> LeaseRecord:
        self._check()
        return self.inner.write(record, **changes)


class SimSwarmConfigs:
    """The engine's configs, shared by every ``SimEngine`` (one per replica, like one client each)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.configs: dict[str, dict[str, Any]] = {}  # ID → {"ID", "Version": {"Index"}, "Spec"}
        self.index = 5000

    def bump(self) -> int:
        self.index += 3  # raft indexes jump: other objects change too
        return self.index


class SimEngine:
    """The Engine API calls ``LeaseStore`` makes, each taking ``latency`` simulated seconds; logged as
    ``(simulated time of the answer, method, path)``."""

    def __init__(self, sim: Sim, swarm: SimSwarmConfigs, latency: float = 0.0) -> None:
        self.sim = sim
        self.swarm = swarm
        self.latency = latency
        self.log: list[tuple[float, str, str]] = []

    def _request(self, method: str, path: str, act: Callable[[], Any]) -> Any:
        self.sim.sleep(self.latency / 2)  # on the way to the engine
        try:
            with self.swarm.lock:
                return act()
        finally:
            self.sim.sleep(self.latency / 2)  # and back
            self.log.append((self.sim.now, method, path))

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        ref = path.removeprefix("/configs/")

        def act() -> Any:
            for config_id, found in self.swarm.configs.items():
                if ref in (config_id, found["Spec"]["Name"]):
                    return copy.deepcopy(found)
            raise NotFound(f"GET {path}: not found", 404)

        return self._request("GET", path, act)

    def create_config(self, spec: dict[str, Any]) -> str:
        def act() -> str:
            if any(c["Spec"]["Name"] == spec["Name"] for c in self.swarm.configs.values()):
                raise NameTaken(f"config {spec['Name']} already exists", 409)
            config_id = f"cfg{len(self.swarm.configs)}"
            self.swarm.configs[config_id] = {
                "ID": config_id, "Version": {"Index": self.swarm.bump()}, "Spec": copy.deepcopy(spec),
            }  # fmt: skip
            return config_id

        return self._request("POST", "/configs/create", act)

    def update_config(self, config_id: str, version: int, spec: dict[str, Any]) -> None:
        def act() -> None:
            found = self.swarm.configs.get(config_id)
            if found is None:
                raise NotFound(f"config {config_id} not found", 404)
            if found["Version"]["Index"] != version:
                raise VersionConflict("update out of sequence", 500)
            found["Spec"] = copy.deepcopy(spec)
            found["Version"]["Index"] = self.swarm.bump()

        self._request("POST", f"/configs/{config_id}/update", act)
