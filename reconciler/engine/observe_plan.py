"""``plan_once``: observe → resolve names and nodes → plan, the read-only half of a pass.

What ``diff`` and ``status`` run, and what ``reconcile_once`` (``engine.reconcile``) runs before it
applies; kept apart from applying so that printing a plan imports none of it (issue 18).
"""

from __future__ import annotations

import os
from collections.abc import Callable

from reconciler.engine.events import EventSink, Observed, discard
from reconciler.engine.planning import PlanOptions, make_plan
from reconciler.state.content_names import KEY_BYTES, resolve_names
from reconciler.state.desired import DesiredState
from reconciler.state.observed import ObservedState, observe_snapshot
from reconciler.state.plan import Plan
from reconciler.swarm.port import SwarmPort

__all__ = ["observe", "plan_once", "resolve_nodes"]


def observe(
    swarm: SwarmPort, on_event: EventSink = discard, observation: Callable[[], ObservedState] | None = None
) -> ObservedState:
    """The swarm observed now, or ``observation()`` (one started already, whose errors count as
    observing's), announced with an ``Observed`` event."""
    observed = observation() if observation is not None else observe_snapshot(swarm.snapshot())
    on_event(Observed(len(observed.objects), observed.requests))
    return observed


def plan_once(
    swarm: SwarmPort,
    desired: DesiredState,
    options: PlanOptions,
    on_event: EventSink = discard,
    observed: ObservedState | None = None,
) -> tuple[ObservedState, Plan]:
    """Observe, resolve the config and secret names (``state.content_names``: keyed by the instance's
    key, which a fresh random one becomes when the swarm holds none) and the VirtualIPs' nodes, plan.
    ``observed``: an observation of ``swarm`` made already (the CLI observes while it loads the
    manifests). Raises ``SwarmError`` when observing fails and ``ValueError`` when the nodes cannot
    satisfy a VirtualIP's priorities."""
    observed = observe(swarm, on_event) if observed is None else observed
    named = resolve_names(desired, observed, options.adopt, os.urandom(KEY_BYTES), options.memo)
    return observed, make_plan(resolve_nodes(named, observed), observed, options)


def resolve_nodes(desired: DesiredState, observed: ObservedState) -> DesiredState:
    """The explicit step between observing and planning: VirtualIPs become objects for the nodes seen."""
    node_ids = {n["Description"]["Hostname"]: n["ID"] for n in observed.nodes if n.get("Description")}
    return desired.resolve_nodes(node_ids)
