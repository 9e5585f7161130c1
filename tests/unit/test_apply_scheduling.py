"""``engine.scheduling.run_in_order`` and the applier on top of it: independent changes overlap (at most
``workers`` at once), each starts after what it needs, steps that run alone overlap nothing, and
results and events come out in step order whatever the threads' timing. No timing is asserted:
overlap is proved with barriers that only pass when the steps really run at the same time."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import pytest

from reconciler.core.keys import ResourceKey
from reconciler.engine.applying import Applier, ApplyInterrupted
from reconciler.engine.events import ChangeFinished, ChangeStarted, Event, EventSink, Waiting
from reconciler.engine.planning import make_plan
from reconciler.engine.reconcile import observe
from reconciler.engine.scheduling import run_in_order
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired
from reconciler.swarm.fake import FakeSwarm
from reconciler.swarm.port import ApiObject, EngineUnavailable

WAIT = 10.0  # seconds a barrier waits before the test fails (never reached when the code is right)


class Tracker:
    """Records which steps run at the same time."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.running: set[int] = set()
        self.most = 0
        self.started: list[int] = []
        self.finished: list[int] = []
        self.overlapped: dict[int, set[int]] = {}

    def enter(self, index: int) -> None:
        with self.lock:
            self.overlapped[index] = set(self.running)
            for other in self.running:
                self.overlapped[other].add(index)
            self.running.add(index)
            self.most = max(self.most, len(self.running))
            self.started.append(index)

    def leave(self, index: int) -> None:
        with self.lock:
            self.running.discard(index)
            self.finished.append(index)


def run(
    count: int,
    body: Any = None,
    *,
    inline: Iterable[int] = (),
    needs: dict[int, list[int]] | None = None,
    alone: Iterable[int] = (),
    workers: int = 4,
    stop: Iterable[int] = (),
) -> tuple[list[int], list[Event], Tracker]:
    tracker = Tracker()
    events: list[Event] = []
    inline_set, alone_set, stop_set = set(inline), set(alone), set(stop)

    def step(index: int, emit: EventSink) -> int:
        tracker.enter(index)
        try:
            emit(Waiting(f"step/{index}", "begin"))
            if body is not None:
                body(index, tracker)
            emit(Waiting(f"step/{index}", "end"))
            return index
        finally:
            tracker.leave(index)

    results = run_in_order(
        count,
        step,
        inline=lambda i: i in inline_set,
        needs=lambda i: (needs or {}).get(i, []),
        alone=lambda i: i in alone_set,
        stop=lambda r: r in stop_set,
        on_event=events.append,
        workers=workers,
    )
    return results, events, tracker


def in_order(count: int) -> list[Event]:
    return [Waiting(f"step/{i}", what) for i in range(count) for what in ("begin", "end")]


def test_results_and_events_in_step_order_when_later_steps_finish_first() -> None:
    last_done = threading.Event()

    def body(index: int, tracker: Tracker) -> None:
        if index == 0:
            assert last_done.wait(WAIT), "step 3 never ran while step 0 was running"
        if index == 3:
            last_done.set()

    results, events, tracker = run(4, body, workers=4)
    assert tracker.finished[-1] == 0  # step 0 really finished last ...
    assert results == [0, 1, 2, 3]  # ... yet results and events are in step order
    assert events == in_order(4)


def test_at_most_workers_at_once_and_they_do_overlap() -> None:
    together = threading.Barrier(3, timeout=WAIT)  # passes only when 3 steps run at the same time

    def body(index: int, tracker: Tracker) -> None:
        if index < 3:
            together.wait()

    results, events, tracker = run(9, body, workers=3)
    assert results == list(range(9))
    assert tracker.most == 3
    assert events == in_order(9)


def test_a_step_starts_only_after_what_it_needs() -> None:
    needs = {2: [0], 4: [2, 3]}
    finished_before_start: dict[int, list[int]] = {}

    def body(index: int, tracker: Tracker) -> None:
        with tracker.lock:
            finished_before_start[index] = list(tracker.finished)

    results, _, _ = run(6, body, needs=needs, workers=4)
    assert results == list(range(6))
    for index, deps in needs.items():
        assert set(deps) <= set(finished_before_start[index]), (index, finished_before_start[index])


def test_a_step_that_runs_alone_overlaps_nothing() -> None:
    results, events, tracker = run(7, alone={3}, workers=4)
    assert results == list(range(7))
    assert tracker.overlapped[3] == set()
    assert events == in_order(7)


def test_inline_steps_run_on_the_calling_thread() -> None:
    threads: dict[int, str] = {}

    def body(index: int, tracker: Tracker) -> None:
        threads[index] = threading.current_thread().name

    results, events, _ = run(5, body, inline={1, 3}, workers=4)
    assert results == list(range(5))
    assert threads[1] == threads[3] == threading.current_thread().name
    assert threads[0].startswith("apply") and threads[4].startswith("apply")
    assert events == in_order(5)


def test_stop_dispatches_nothing_more() -> None:
    results, _, tracker = run(8, stop={0}, workers=2, alone={0})
    assert results == [0]
    assert tracker.started == [0]


def test_an_error_is_raised_after_the_running_steps_finish() -> None:
    def body(index: int, tracker: Tracker) -> None:
        if index == 1:
            raise RuntimeError("guard said no")

    with pytest.raises(RuntimeError, match="guard said no"):
        run(6, body, workers=2, needs={3: [2], 4: [3], 5: [4]})


def test_one_worker_is_one_after_another() -> None:
    results, events, tracker = run(5, workers=1)
    assert results == list(range(5))
    assert tracker.most == 1
    assert tracker.started == tracker.finished == list(range(5))
    assert events == in_order(5)


# -- the applier on the in-memory swarm ---------------------------------------------------------


class OverlapSwarm(FakeSwarm):
    """Service creates wait until ``together`` of them are in flight at once (a barrier): a
    one-by-one applier would time out on it. Records the order of every create."""

    barrier: threading.Barrier | None = None
    log: list[tuple[str, str]]

    def arm(self, together: int) -> None:
        self.barrier = threading.Barrier(together, timeout=WAIT, action=self.disarm)
        self.log = []

    def disarm(self) -> None:
        self.barrier = None  # the first `together` creates met: the rest go through

    def create_network(self, spec: ApiObject) -> str:
        self.log.append(("network", spec["Name"]))
        return super().create_network(spec)

    def create_config(self, spec: ApiObject) -> str:
        self.log.append(("config", spec["Name"]))
        return super().create_config(spec)

    def create_service(self, spec: ApiObject) -> str:
        barrier = self.barrier
        if barrier is not None:
            barrier.wait()
        self.log.append(("service", spec["Name"]))
        return super().create_service(spec)


def service_name(i: int) -> str:
    """Every third service depends on ``aa-db`` (``zz-…``: planned after the others)."""
    return f"zz-{i:02d}" if i % 3 == 1 else f"svc-{i:02d}"


def write_set(folder: Any, services: int) -> None:
    docs = [
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: net}\nspec: {}\n",
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Config\nmetadata: {name: conf}\nspec: {data: x}\n",
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Service\nmetadata: {name: aa-db}\nspec: {image: x:1}\n",
    ]
    for i in range(services):
        depends = "\n  dependsOn: [Service/aa-db]" if i % 3 == 1 else ""
        docs.append(
            f"apiVersion: reconciler.swarm/v1alpha1\nkind: Service\nmetadata: {{name: {service_name(i)}}}\n"
            f"spec:\n  image: x:1\n  replicas: 1\n  networks: [net]\n  configs: [{{name: conf}}]{depends}\n"
        )
    (folder / "set.yaml").write_text("---\n".join(docs))


def test_applier_cold_create_overlaps_writes_in_dependency_order(tmp_path: Any) -> None:
    write_set(tmp_path, 12)
    desired = compile_desired(load_manifests(tmp_path), "sched")
    swarm = OverlapSwarm()
    swarm.arm(together=4)
    plan = make_plan(desired, observe(swarm))
    events: list[Event] = []
    result = Applier(swarm, observe(swarm), events.append, poll_interval=0.01, workers=4).apply(plan)
    assert result.ok, result.counts()
    assert [o.change.key for o in result.outcomes] == [c.key for c in plan.changes]
    finished = [e.change.key for e in events if isinstance(e, ChangeFinished)]
    started = [e.change.key for e in events if isinstance(e, ChangeStarted)]
    assert finished == started == [c.key for c in plan.changes if c.changes_something]
    created_at = {name: i for i, (_, name) in enumerate(swarm.log)}
    config = next(name for kind, name in swarm.log if kind == "config")
    for i in range(12):
        assert created_at[service_name(i)] > max(created_at["net"], created_at[config])
        if i % 3 == 1:
            assert created_at[service_name(i)] > created_at["aa-db"]
    assert swarm.barrier is None  # four service creates were in flight at once
    assert len(swarm.snapshot().services) == 13


@pytest.mark.parametrize("workers", [1, 4])
def test_applier_engine_gone_midway_reports_what_was_done(tmp_path: Any, workers: int) -> None:
    write_set(tmp_path, 6)
    desired = compile_desired(load_manifests(tmp_path), "sched")
    swarm = FakeSwarm()
    plan = make_plan(desired, observe(swarm))
    calls = 0
    original = swarm.create_service

    def create_then_go_away(spec: ApiObject) -> str:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise EngineUnavailable("POST /services/create: connection refused")
        return original(spec)

    swarm.create_service = create_then_go_away  # type: ignore[method-assign]
    with pytest.raises(ApplyInterrupted) as caught:
        Applier(swarm, observe(swarm), workers=workers).apply(plan)
    outcomes = caught.value.applied.outcomes
    assert [o.status.value for o in outcomes].count("failed") == 1
    # A prefix of the plan, in its order: what was dispatched before the fault, all of it finished.
    assert [o.change.key for o in outcomes] == [c.key for c in plan.changes[: len(outcomes)]]
    # Every create that went through is reported done (one by one: the two before the fault; with
    # workers, also those already running when it came).
    done = sum(1 for o in outcomes if o.status.value == "done" and o.change.kind == "Service")
    assert done == calls - 1
    assert done == 2 if workers == 1 else done >= 2
    assert ResourceKey.of("Network", "net") in {o.change.key for o in outcomes}
