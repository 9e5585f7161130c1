"""``reconcile_once``: observe → resolve nodes → plan (``engine.observe_plan``) → apply, level-based,
with the controller-runtime contract.

A ``Result`` says whether the swarm converged, whether to come back (``requeue_after``, for
transient failures), or that the failure is terminal (retrying cannot help until the manifests or
the swarm change: a missing proxy permission, a spec the engine refuses). Errors are types
(``engine.errors``), never found by searching message text. A change that lost a race with another
writer is retried here from a fresh observation, a bounded number of times. Called by ``reconciler
apply`` (``apply_confirmed``) and by the controller (``reconcile_once``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from reconciler.core.keys import ResourceKey
from reconciler.engine.applying import Applier, ApplyInterrupted, ApplyResult, Outcome
from reconciler.engine.errors import ReconcileError, TransientError, classify
from reconciler.engine.events import EventSink, OutcomeStatus, discard
from reconciler.engine.fixpoint import NotConverging, check_fixpoint, written_by
from reconciler.engine.observe_plan import observe, plan_once, resolve_nodes
from reconciler.engine.planning import PlanOptions
from reconciler.engine.scheduling import DEFAULT_WORKERS
from reconciler.state.desired import DesiredState
from reconciler.state.observed import ObservedState
from reconciler.state.plan import Action, Plan
from reconciler.swarm.port import SwarmError, SwarmPort

__all__ = ["REQUEUE_AFTER", "Result", "apply_confirmed", "observe", "plan_once", "reconcile_once", "resolve_nodes"]

MAX_ATTEMPTS = 4
RETRY_BACKOFF = 1.0  # seconds before the second attempt; doubled each time
REQUEUE_AFTER = 5.0  # seconds: the least wait before a pass with transient failures runs again


@dataclass(frozen=True)
class Result:
    """One pass. ``error``: the engine failed the pass as a whole, before any change (observing, resolving
    nodes; ``applied`` is empty) or part-way (it stopped answering while the pass wrote or read its
    writes back; ``applied`` holds what was done before, which is in the swarm); otherwise each outcome
    carries its own error. ``requeue_after`` (seconds) is set when something
    transient is left to do; ``terminal`` when something needs a person."""

    plan: Plan
    applied: ApplyResult
    attempts: int = 1
    requeue_after: float | None = None
    error: ReconcileError | None = None
    not_converging: tuple[NotConverging, ...] = ()  # written, yet read back different (the fixpoint check)
    after: Plan | None = None  # the plan re-observed after the writes (None when nothing was written)

    @property
    def converged(self) -> bool:
        return self.error is None and self.applied.ok and not self.applied.needs_retry and not self.not_converging

    @property
    def written(self) -> dict[ResourceKey, str]:
        """Key → desired spec hash of every object this pass created or changed."""
        return written_by(self.applied)

    @property
    def errors(self) -> list[ReconcileError]:
        return [*([self.error] if self.error else []), *self.applied.errors]

    @property
    def terminal(self) -> bool:
        return any(e.terminal for e in self.errors)

    @property
    def terminal_reasons(self) -> list[str]:
        return [str(e) for e in self.errors if e.terminal]


def reconcile_once(
    swarm: SwarmPort,
    desired: DesiredState,
    options: PlanOptions | None = None,
    on_event: EventSink = discard,
    dependency_timeout: float = 120.0,
    guard: Callable[[], bool] | None = None,
    workers: int = DEFAULT_WORKERS,
    observation: Callable[[], ObservedState] | None = None,
) -> Result:
    """Observe, plan and apply the whole desired state (the controller's pass). ``guard`` is asked
    before every write (a controller passes "do I still hold the lease?"). ``observation``: gives the
    pass's observation of ``swarm``, started already (the controller reads the swarm while it loads the
    manifests); what it raises counts as observing's. Never raises for engine failures: they come
    back as ``Result.error``."""
    options = options or PlanOptions()
    try:
        observed, plan = plan_once(swarm, desired, options, on_event, observe(swarm, on_event, observation))
        return _apply_until_settled(
            swarm, desired, options, observed, plan, on_event, dependency_timeout, None, guard, workers
        )
    except _PassInterrupted as exc:
        # Part-way: the writes made before the fault stay in the Result, so that they are counted and
        # shown once (the next pass finds them done and has nothing to report for them).
        error = classify(exc.cause)
        requeue = None if error.terminal else REQUEUE_AFTER
        return Result(exc.plan, exc.applied, exc.attempts, requeue, error)
    except SwarmError as exc:
        error = classify(exc)
        return Result(Plan(), ApplyResult(), requeue_after=None if error.terminal else REQUEUE_AFTER, error=error)


def apply_confirmed(
    swarm: SwarmPort,
    desired: DesiredState,
    options: PlanOptions,
    observed: ObservedState,
    plan: Plan,
    on_event: EventSink = discard,
    dependency_timeout: float = 120.0,
    workers: int = DEFAULT_WORKERS,
) -> Result:
    """Apply a plan a person has seen. A retry after a lost race re-plans from a fresh observation
    but acts only on the objects that plan showed. Raises ``SwarmError`` when the engine stops
    answering."""
    confirmed = {c.key for c in plan.changes if c.changes_something}
    try:
        return _apply_until_settled(
            swarm, desired, options, observed, plan, on_event, dependency_timeout, confirmed, workers=workers
        )
    except _PassInterrupted as exc:
        raise exc.cause from None  # the CLI reports the engine's own error, as before


class _PassInterrupted(SwarmError):
    """The engine failed part-way through ``_apply_until_settled``: ``cause`` is its error, ``applied``
    what was done before (earlier attempts' writes included), ``plan`` the pass's first plan."""

    def __init__(self, cause: SwarmError, plan: Plan, applied: ApplyResult, attempts: int) -> None:
        super().__init__(str(cause), cause.status)
        self.cause = cause
        self.plan = plan
        self.applied = applied
        self.attempts = attempts


def _apply_until_settled(
    swarm: SwarmPort,
    desired: DesiredState,
    options: PlanOptions,
    observed: ObservedState,
    plan: Plan,
    on_event: EventSink,
    dependency_timeout: float,
    confirmed: set[ResourceKey] | None,
    guard: Callable[[], bool] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> Result:
    first_plan = plan
    attempt = 1
    applied = ApplyResult()
    done_before: list[Outcome] = []  # writes of attempts before a retry: in the swarm too

    def replan() -> Plan:
        return plan_once(swarm, desired, replace(options, prune=False))[1]

    try:
        while True:
            applier = Applier(swarm, observed, on_event, dependency_timeout=dependency_timeout, guard=guard,
                              workers=workers)  # fmt: skip
            applied = applier.apply(plan)
            if not applied.needs_retry or attempt >= MAX_ATTEMPTS:
                break
            done_before += [o for o in applied.outcomes if o.status is OutcomeStatus.DONE]
            time.sleep(RETRY_BACKOFF * 2 ** (attempt - 1))  # 1 s, 2 s: let the other writer or the network settle
            attempt += 1
            observed, plan = plan_once(swarm, desired, options, on_event)
            if confirmed is not None:
                plan = _restrict(plan, confirmed)
        applied = _with_done_before(applied, done_before)
        not_converging, after = check_fixpoint(applied, replan)
    except SwarmError as exc:
        cause = exc
        if isinstance(exc, ApplyInterrupted):
            cause, applied = exc.cause, exc.applied
        raise _PassInterrupted(cause, first_plan, _with_done_before(applied, done_before), attempt) from exc
    transient = applied.needs_retry or any(not e.terminal for e in applied.errors)
    return Result(first_plan, applied, attempt, REQUEUE_AFTER if transient else None, None, not_converging, after)


def _with_done_before(applied: ApplyResult, done_before: list[Outcome]) -> ApplyResult:
    """The last attempt's outcomes, where a change an earlier attempt did (a noop now) shows as done."""
    earlier = {o.change.key: o for o in done_before}
    outcomes = [
        earlier.pop(o.change.key) if o.status is OutcomeStatus.NOOP and o.change.key in earlier else o
        for o in applied.outcomes
    ]
    seen = {o.change.key for o in applied.outcomes}
    outcomes += [o for key, o in earlier.items() if key not in seen]
    return ApplyResult(tuple(outcomes))


def _restrict(plan: Plan, keys: set[ResourceKey]) -> Plan:
    return Plan(
        tuple(
            c
            if c.key in keys or not c.changes_something
            else replace(c, action=Action.NOOP, reason="not in the confirmed plan")
            for c in plan.changes
        )
    )


__all__ += ["OutcomeStatus", "TransientError"]  # re-exported for callers that test outcomes
