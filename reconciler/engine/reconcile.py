"""``reconcile_once``: observe → plan → apply, level-based, with the controller-runtime contract.

A ``Result`` says whether the swarm converged, whether to come back (``requeue_after``), or that
the error is terminal (retrying cannot help, e.g. a missing proxy permission). A change that lost a
race with another writer is retried here from a fresh observation, a bounded number of times.
Called by ``reconciler apply`` and by the controller.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from reconciler.engine.applying import Applier, ApplyResult
from reconciler.engine.events import EventSink, Observed, discard
from reconciler.engine.planning import PlanOptions, make_plan
from reconciler.state.desired import DesiredState
from reconciler.state.observed import ObservedState, observe_snapshot
from reconciler.state.plan import Action, Plan
from reconciler.swarm.port import SwarmPort

__all__ = ["Result", "apply_confirmed", "observe", "plan_once", "reconcile_once"]

MAX_ATTEMPTS = 4
RETRY_BACKOFF = 1.0  # seconds before the second attempt; doubled each time


@dataclass(frozen=True)
class Result:
    plan: Plan
    applied: ApplyResult
    attempts: int = 1
    requeue_after: float | None = None  # seconds; None: nothing left to do
    terminal: bool = False  # retrying will not help without a human

    @property
    def converged(self) -> bool:
        return self.applied.ok and not self.applied.needs_retry


def observe(swarm: SwarmPort, on_event: EventSink = discard) -> ObservedState:
    observed = observe_snapshot(swarm.snapshot())
    on_event(Observed(len(observed.objects), observed.requests))
    return observed


def plan_once(
    swarm: SwarmPort, desired: DesiredState, options: PlanOptions, on_event: EventSink = discard
) -> tuple[ObservedState, Plan]:
    observed = observe(swarm, on_event)
    return observed, make_plan(desired, observed, options)


def reconcile_once(
    swarm: SwarmPort,
    desired: DesiredState,
    options: PlanOptions | None = None,
    on_event: EventSink = discard,
    dependency_timeout: float = 120.0,
    guard: Callable[[], bool] | None = None,
) -> Result:
    """Observe, plan and apply the whole desired state (the controller's pass). ``guard`` is asked
    before every write (a controller passes "do I still hold the lease?")."""
    options = options or PlanOptions()
    observed, plan = plan_once(swarm, desired, options, on_event)
    return _apply_until_settled(
        swarm, desired, options, observed, plan, on_event, dependency_timeout, confirmed=None, guard=guard
    )


def apply_confirmed(
    swarm: SwarmPort,
    desired: DesiredState,
    options: PlanOptions,
    observed: ObservedState,
    plan: Plan,
    on_event: EventSink = discard,
    dependency_timeout: float = 120.0,
) -> Result:
    """Apply a plan a person has seen. A retry after a lost race re-plans from a fresh observation
    but acts only on the objects that plan showed."""
    confirmed = {c.key for c in plan.changes if c.changes_something}
    return _apply_until_settled(swarm, desired, options, observed, plan, on_event, dependency_timeout, confirmed)


def _apply_until_settled(
    swarm: SwarmPort,
    desired: DesiredState,
    options: PlanOptions,
    observed: ObservedState,
    plan: Plan,
    on_event: EventSink,
    dependency_timeout: float,
    confirmed: set[str] | None,
    guard: Callable[[], bool] | None = None,
) -> Result:
    first_plan = plan
    attempt = 1
    while True:
        applied = Applier(swarm, observed, on_event, dependency_timeout=dependency_timeout, guard=guard).apply(plan)
        if not applied.needs_retry or attempt >= MAX_ATTEMPTS:
            break
        time.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))  # 1 s, 2 s: let the other writer or the network settle
        attempt += 1
        observed, plan = plan_once(swarm, desired, options, on_event)
        if confirmed is not None:
            plan = _restrict(plan, confirmed)
    terminal = any("socket proxy needs" in o.message for o in applied.outcomes)
    requeue = None if applied.ok and not applied.needs_retry else 5.0
    return Result(first_plan, applied, attempt, requeue, terminal)


def _restrict(plan: Plan, keys: set[str]) -> Plan:
    return Plan(
        tuple(
            c
            if c.key in keys or not c.changes_something
            else replace(c, action=Action.NOOP, reason="not in the confirmed plan")
            for c in plan.changes
        )
    )
