"""Rollout outcomes: after ``apply`` wrote services, wait until each is healthy, or say why not.

A service that becomes ``Healthy`` succeeded. One that Swarm rolled back or paused (its
``UpdateStatus``, for an update started after our write), or that stays ``Degraded`` (no node fits,
tasks keep failing) for ``DEGRADED_FOR_S``, or that is not healthy within the timeout, is a failed
rollout with the reason. Polls one snapshot per round. Called by ``reconciler apply --wait``; the
controller does not wait (it requeues while something is Progressing and reports health instead).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from reconciler.core.keys import ResourceKey
from reconciler.engine.events import EventSink, Waiting, discard
from reconciler.state.health import Health, HealthState, parse_time
from reconciler.state.observed import observe_snapshot
from reconciler.swarm.port import SwarmPort

__all__ = ["DEGRADED_FOR_S", "RolloutOutcome", "wait_for_rollout"]

DEGRADED_FOR_S = 10.0  # seconds a service may stay Degraded (a restart may still succeed) before it counts
_FINAL_UPDATE_STATES = {"rollback_completed", "paused", "rollback_paused"}


@dataclass(frozen=True)
class RolloutOutcome:
    key: ResourceKey
    swarm_name: str
    health: Health
    ok: bool
    waited_s: float

    @property
    def reason(self) -> str:
        if self.ok:
            return f"healthy after {self.waited_s:.0f}s ({self.health.reason})"
        return f"rollout failed after {self.waited_s:.0f}s: {self.health.state.value}: {self.health.reason}"


def wait_for_rollout(
    swarm: SwarmPort,
    services: Mapping[ResourceKey, str],
    written_at: float,
    timeout_s: float,
    on_event: EventSink = discard,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> list[RolloutOutcome]:
    """``services``: key → Swarm service name of each service the apply created or changed;
    ``written_at``: Unix seconds just before the first write (an older UpdateStatus is not ours)."""
    began = clock()
    pending = dict(services)
    degraded_since: dict[ResourceKey, float] = {}
    outcomes: list[RolloutOutcome] = []
    announced = False
    while pending:
        observed = observe_snapshot(swarm.snapshot())
        now = clock()
        for key, name in list(pending.items()):
            live = observed.find("service", name)
            health = observed.health(live)
            final = health.state is HealthState.HEALTHY
            if health.state is HealthState.DEGRADED and live is not None:
                update = live.raw.get("UpdateStatus") or {}
                started = parse_time(update.get("StartedAt"))
                ours = started is not None and started.timestamp() >= written_at - 1.0
                degraded_since.setdefault(key, now)
                final = (update.get("State") in _FINAL_UPDATE_STATES and ours) or now - degraded_since[
                    key
                ] >= DEGRADED_FOR_S
            else:
                degraded_since.pop(key, None)
            if final or now - began >= timeout_s:
                outcomes.append(RolloutOutcome(key, name, health, health.healthy, now - began))
                del pending[key]
        if pending:
            if not announced:
                for key in pending:
                    on_event(Waiting(key, f"waiting for the rollout to become healthy (at most {timeout_s:.0f}s)"))
                announced = True
            time.sleep(poll_s)
    return sorted(outcomes, key=lambda o: str(o.key))
