"""The pipeline's last stage: a plan and what applying it did → each object's status.

``status`` (the CLI) shows the plan's view of every object; the controller shows the swarm as it
stands after its pass: what was applied is in sync, what was deleted is gone, the rest keeps the
state the planner found. Rows are typed (``ObjectStatus``, ``ObjectState``) and turned into text or
JSON only by the views. Called by ``reconciler status`` and the controller.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from reconciler.core.keys import ResourceKey
from reconciler.engine.events import OutcomeStatus
from reconciler.state.health import Health
from reconciler.state.plan import Action, Change, ObjectState, Plan

if TYPE_CHECKING:  # ``status`` (the CLI) plans only: it imports none of applying (issue 18)
    from reconciler.engine.applying import ApplyResult
    from reconciler.engine.fixpoint import NotConverging

__all__ = ["ObjectStatus", "after_apply", "object_statuses"]


@dataclass(frozen=True)
class ObjectStatus:
    key: ResourceKey
    swarm_name: str
    state: ObjectState
    reason: str
    health: Health | None = None

    @property
    def in_sync(self) -> bool:
        return self.state.settled

    @property
    def healthy(self) -> bool:
        """Healthy, or an object without a health of its own."""
        return self.health is None or self.health.healthy

    @property
    def ok(self) -> bool:
        """What ``status`` exits 0 for: in sync and healthy."""
        return self.in_sync and self.healthy

    def as_json(self) -> dict[str, Any]:
        return {
            "key": str(self.key),
            "swarm_name": self.swarm_name,
            "state": self.state.value,
            "reason": self.reason,
            "health": self.health.state.value if self.health else None,
            "health_reason": self.health.reason if self.health else "",
        }


def object_statuses(plan: Plan) -> list[ObjectStatus]:
    """One row per change of the plan, in plan order."""
    return [ObjectStatus(c.key, c.swarm_name, c.state, c.reason, c.health) for c in plan.changes]


def after_apply(
    plan: Plan, applied: ApplyResult, not_converging: tuple[NotConverging, ...] = (), after: Plan | None = None
) -> Plan:
    """The plan as the swarm stands after applying it: a change that was done is in sync (unless the
    fixpoint check found it still differs), and a deletion that was done is gone. ``after``, the plan
    re-observed after the writes, gives the objects' health as it is now."""
    done = {id(o.change) for o in applied.outcomes if o.status is OutcomeStatus.DONE}
    differing = {n.key: n for n in not_converging}
    health_now = {c.key: c.health for c in after.changes} if after is not None else {}

    def settled(change: Change) -> Change:
        health = health_now.get(change.key, change.health)
        if change.key in differing:
            return replace(change, reason=differing[change.key].reason, state=ObjectState.NOT_CONVERGING, health=health)
        return replace(change, action=Action.NOOP, reason="applied", drift=False, state=ObjectState.IN_SYNC,
                       health=health)  # fmt: skip

    return Plan(
        tuple(
            settled(c) if id(c) in done else c
            for c in plan.changes
            if not (id(c) in done and c.action is Action.DELETE)
        )
    )
