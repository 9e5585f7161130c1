"""Desired state + observed state → a ``Plan``. Pure and deterministic.

Order: networks, configs, secrets, then services in dependency order; then deletions in reverse
(services, secrets, configs, networks), old config/secret versions last of all. Every change
carries the object's state and, in a typed payload, what ``apply`` needs, so apply never diffs
again. The desired state must have its nodes resolved (``DesiredState.resolve_nodes``): rendering
VirtualIPs is not the planner's job. Called by the engine.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import KIND, LEASE_KIND, MANAGED_BY, NAME_KEY_KIND, STACK_NAMESPACE
from reconciler.engine.route_labels import route_label_changes
from reconciler.state.content_names import KEY_BYTES, Kept, resolve_names
from reconciler.state.desired import DesiredObject, DesiredState
from reconciler.state.diffing import FieldDiff, diff_essences
from reconciler.state.essence import config_essence, essence_hash, network_essence, service_essence
from reconciler.state.observed import ObservedObject, ObservedState
from reconciler.state.plan import (
    Action,
    Change,
    CreatePayload,
    DeletePayload,
    Notice,
    ObjectState,
    Plan,
    RouteLabelsPayload,
    UpdatePayload,
)
from reconciler.state.plan_memo import PlanMemo
from reconciler.state.stored_form import is_job, mode_kind

__all__ = ["PlanOptions", "make_plan", "observed_essence"]

_DELETE_ORDER = {"service": 0, "secret": 1, "config": 2, "network": 3}


@dataclass(frozen=True)
class PlanOptions:
    prune: bool = False
    adopt: bool = False
    allow_empty: bool = False
    max_prune: int = 10
    # Objects that did not converge after their last write (``engine.fixpoint.Holds``): key → (the
    # desired spec hash they were written from, why). Held only while the spec is the same.
    hold: Mapping[ResourceKey, tuple[str, str]] = field(default_factory=dict)
    # The controller's memory of its last pass (``state.plan_memo``): the same plan, computed again
    # only for what changed. None: everything from scratch (the reference).
    memo: PlanMemo | None = field(default=None, compare=False, repr=False)


def observed_essence(live: ObservedObject, desired: DesiredObject | None, observed: ObservedState) -> dict[str, object]:
    if live.swarm_kind == "network":
        return network_essence(live.raw, with_ipam=desired.with_ipam if desired else False)
    if live.swarm_kind in ("config", "secret"):
        return config_essence(live.raw)
    return service_essence(live.spec, observed.network_names)


def make_plan(desired: DesiredState, observed: ObservedState, options: PlanOptions | None = None) -> Plan:
    options = options or PlanOptions()
    if not desired.names_resolved:  # ``plan_once`` resolves them; a caller that did not gets a random key
        desired = resolve_names(desired, observed, options.adopt, os.urandom(KEY_BYTES), options.memo)
    if desired.vips and not desired.nodes_resolved:
        raise ValueError("VirtualIPs need the swarm's nodes: call DesiredState.resolve_nodes before planning")
    if options.memo is None:
        changes = [_plan_one(item, desired, observed, options) for item in desired.objects]
    else:
        with options.memo.live.round():
            changes = [_plan_one(item, desired, observed, options) for item in desired.objects]
    networks = sum(1 for c in changes if c.kind == "Network")
    changes[networks:networks] = _volume_conflicts(desired, observed, options)
    changes += route_label_changes(desired, observed)
    changes += _deletions(desired, observed, options)
    swarm_kinds = {o.key: o.swarm_kind for o in desired.objects}
    return Plan(tuple(_with_health(c, swarm_kinds, observed) for c in changes))


def _with_health(change: Change, swarm_kinds: dict[ResourceKey, str], observed: ObservedState) -> Change:
    """Health beside sync: of the Swarm object the change is about, as observed before any write."""
    payload = change.payload
    if isinstance(payload, UpdatePayload | DeletePayload | RouteLabelsPayload):
        swarm_kind = payload.live.swarm_kind
    elif change.key in swarm_kinds:
        swarm_kind = swarm_kinds[change.key]
    elif change.kind == "Service":
        swarm_kind = "service"  # route labels on a service that does not exist
    else:
        return change  # volumes live in the services that mount them
    return replace(change, health=observed.health(observed.find(swarm_kind, change.swarm_name)))


def _plan_one(item: DesiredObject, desired: DesiredState, observed: ObservedState, options: PlanOptions) -> Change:
    missing = [
        key
        for key in item.depends_on
        if key in _known_external(desired) and not _external_exists(key, desired, observed)
    ]
    if missing:
        return Change(item.key, Action.BLOCKED, f"needs {', '.join(missing)}, which is external and does not exist",
                      swarm_name=item.swarm_name, state=ObjectState.BLOCKED)  # fmt: skip
    live = observed.find(item.swarm_kind, item.swarm_name)
    if live is None:
        renames = (Notice.NEW_NAME_KEY,) if item.kept == Kept.NEW_KEY else ()
        return Change(item.key, Action.CREATE, "not in the swarm", tuple(diff_essences({}, item.essence)),
                      swarm_name=item.swarm_name, state=ObjectState.MISSING, payload=CreatePayload(item),
                      notices=renames)  # fmt: skip
    payload = UpdatePayload(item, live)
    name_key = item.key.kind == NAME_KEY_KIND  # its data is the key: never taken over (content_names)
    if live.managed_by != desired.instance:
        if live.managed_by is None and (options.adopt or item.adopt) and not name_key:
            return _adopt(item, live, observed, payload)
        owner = f"managed by instance {live.managed_by!r}" if live.managed_by else "not managed by the reconciler"
        hint = (
            ""
            if live.managed_by
            else ' (apply --adopt, or the annotation reconciler.swarm/adopt: "true", takes it over)'
        )
        if name_key:
            hint = (f": no secret is named under a key of unknown origin; remove it, or restore this instance's "
                    f"key with the labels {MANAGED_BY}={desired.instance} and {KIND}={NAME_KEY_KIND}")  # fmt: skip
        return Change(item.key, Action.CONFLICT, f"a {item.swarm_kind} named {item.swarm_name!r} exists and is {owner}{hint}",
                      swarm_name=item.swarm_name, state=ObjectState.CONFLICT)  # fmt: skip
    if item.swarm_kind == "network" and not live.raw.get("Driver"):
        return Change(item.key, Action.NOOP, "being allocated by the swarm", swarm_name=item.swarm_name)
    live_essence, diff = _essence_and_diff(live, item, observed, options.memo)
    if not diff:
        return Change(item.key, Action.NOOP, "in sync", swarm_name=item.swarm_name)
    if (fixed := _mode_change(item, live, diff)) is not None:
        return fixed
    held = options.hold.get(item.key)
    if held is not None and held[0] == item.hash:
        return Change(item.key, Action.BLOCKED, held[1], diff, swarm_name=item.swarm_name,
                      state=ObjectState.NOT_CONVERGING)  # fmt: skip
    drift = live.applied_hash is not None and essence_hash(live_essence) != live.applied_hash
    why = "changed in the swarm since it was applied" if drift else "the manifest changed"
    state = ObjectState.DRIFTED if drift else ObjectState.OUTDATED
    if item.swarm_kind == "network":
        users = sorted(observed.used_by("network", item.swarm_name))
        if users:
            return Change(item.key, Action.BLOCKED,
                          f"networks are immutable and {why}; it is used by {', '.join(users)}: detach them to replace it",
                          diff, drift, item.swarm_name, ObjectState.BLOCKED)  # fmt: skip
        return Change(
            item.key,
            Action.REPLACE,
            f"networks are immutable and {why}",
            diff,
            drift,
            item.swarm_name,
            state,
            payload=payload,
        )
    return Change(item.key, Action.UPDATE, why, diff, drift, item.swarm_name, state, payload=payload,
                  notices=_job_rerun(item))  # fmt: skip


def _essence_and_diff(
    live: ObservedObject, item: DesiredObject, observed: ObservedState, memo: PlanMemo | None
) -> tuple[dict[str, object], tuple[FieldDiff, ...]]:
    """The live object's essence and its diff against the desired one; a service's from the memo
    when neither side changed since the last pass (``state.plan_memo``)."""
    if memo is None or live.swarm_kind != "service":
        live_essence = observed_essence(live, item, observed)
        return live_essence, tuple(diff_essences(live_essence, item.essence))
    return memo.service_diff(live, observed.network_names, item.essence, lambda: observed_essence(live, item, observed))


def _mode_change(item: DesiredObject, live: ObservedObject, diff: tuple[FieldDiff, ...]) -> Change | None:
    """A service whose mode would change kind (replicated, global, a job): the engine refuses the
    update (stored-form quirk ``mode-kind-fixed``), so the plan says so instead of failing at apply."""
    if item.swarm_kind != "service" or mode_kind(live.spec) == mode_kind(item.spec):
        return None
    reason = (f"the mode cannot change from {_MODE_NAMES[mode_kind(live.spec)]} to {_MODE_NAMES[mode_kind(item.spec)]} "
              "in place (swarmkit refuses it): remove the service (docker service rm) and apply again, or keep its mode")  # fmt: skip
    return Change(item.key, Action.BLOCKED, reason, diff, swarm_name=item.swarm_name, state=ObjectState.BLOCKED)


_MODE_NAMES = {"Replicated": "replicated", "Global": "global", "ReplicatedJob": "replicated-job",
               "GlobalJob": "global-job"}  # fmt: skip


def _job_rerun(item: DesiredObject) -> tuple[Notice, ...]:
    """An update of a job service runs it again (``Notice.JOB_RERUN``)."""
    return (Notice.JOB_RERUN,) if item.swarm_kind == "service" and is_job(item.spec) else ()


def _volume_conflicts(desired: DesiredState, observed: ObservedState, options: PlanOptions) -> list[Change]:
    """Swarm mounts an existing volume as it is, whatever the mount's driver options say: one of
    the hashed name that the reconciler did not make would silently stand in for the NFS export."""
    changes = []
    for key, (name, adopt) in sorted(desired.volumes.items()):
        live = observed.volumes.get(name)
        labels = (live or {}).get("Labels") or {}
        namespace = ResourceKey(key).namespace
        # A namespace's volume carries the stack label, as docker stack deploy's do, and none of ours.
        if (
            live is None
            or labels.get(MANAGED_BY) == desired.instance
            or (namespace and labels.get(STACK_NAMESPACE) == namespace)
        ):
            continue
        if options.adopt or adopt:
            changes.append(
                Change(
                    ResourceKey(key), Action.NOOP, "adopted: the existing volume is mounted as it is", swarm_name=name
                )
            )
        else:
            reason = (f"a volume named {name!r} exists on this node and was not made by this instance: Swarm would "
                      "mount it as it is, ignoring the manifest's options (--adopt accepts it)")  # fmt: skip
            changes.append(
                Change(ResourceKey(key), Action.CONFLICT, reason, swarm_name=name, state=ObjectState.CONFLICT)
            )
    return changes


def _adopt(item: DesiredObject, live: ObservedObject, observed: ObservedState, payload: UpdatePayload) -> Change:
    """Taking over writes the ownership labels. A network's labels cannot change, so it is
    replaced, which only an unused network can be."""
    diff = tuple(diff_essences(observed_essence(live, item, observed), item.essence))
    if (fixed := _mode_change(item, live, diff)) is not None:
        return fixed
    if item.swarm_kind != "network":
        trusted: tuple[Notice, ...] = (Notice.TRUSTED_SECRET,) if item.kept == Kept.STACK_SECRET else ()
        trusted += _job_rerun(item)
        return Change(
            item.key,
            Action.UPDATE,
            "adopted: exists, not managed yet",
            diff,
            swarm_name=item.swarm_name,
            state=ObjectState.OUTDATED,
            payload=payload,
            notices=trusted,
        )
    users = sorted(observed.used_by("network", item.swarm_name))
    if users or live.raw.get("Scope") != "swarm":
        why = f"it is used by {', '.join(users)}" if users else f"it is a {live.raw.get('Scope')}-scoped network"
        return Change(
            item.key,
            Action.BLOCKED,
            f"adopting a network means replacing it, and {why}",
            diff,
            swarm_name=item.swarm_name,
            state=ObjectState.BLOCKED,
        )
    return Change(item.key, Action.REPLACE, "adopted: networks cannot be relabelled, so it is replaced", diff,
                  swarm_name=item.swarm_name, state=ObjectState.OUTDATED, payload=payload)  # fmt: skip


def _known_external(desired: DesiredState) -> set[str]:
    return set(desired.external)


def _external_exists(key: ResourceKey, desired: DesiredState, observed: ObservedState) -> bool:
    swarm_kind = key.kind.lower()
    return observed.find(swarm_kind, desired.external[key]) is not None


def _deletions(desired: DesiredState, observed: ObservedState, options: PlanOptions) -> list[Change]:
    wanted = {(o.swarm_kind, o.swarm_name) for o in desired.objects}
    desired_keys = {o.key for o in desired.objects}
    rotations: list[Change] = []
    prunes: list[ObservedObject] = []
    for live in sorted(observed.managed(desired.instance), key=lambda o: (_DELETE_ORDER[o.swarm_kind], o.swarm_name)):
        if (live.swarm_kind, live.swarm_name) in wanted or live.labels.get(KIND) in (LEASE_KIND, NAME_KEY_KIND):
            continue  # the leader-election lease and the secret-name key are the instance's own, not a manifest's
        key = live.key or ResourceKey.of(live.swarm_kind, live.swarm_name)
        if live.swarm_kind in ("config", "secret") and key in desired_keys:
            holders = sorted(observed.used_by(live.swarm_kind, live.swarm_name))
            if holders:  # a service's current or previous spec: Swarm's rollback would need it
                rotations.append(Change(key, Action.NOOP, f"old version: kept while {', '.join(holders)} can roll "
                                        "back to it", swarm_name=live.swarm_name, state=ObjectState.RETAINED))  # fmt: skip
                continue
            rotations.append(Change(key, Action.DELETE, "old version: no service can roll back to it any more",
                                    swarm_name=live.swarm_name, state=ObjectState.OLD_VERSION,
                                    payload=DeletePayload(live, rotation=True)))  # fmt: skip
        else:
            prunes.append(live)
    return _prune_changes(prunes, desired, options) + rotations


def _prune_changes(prunes: list[ObservedObject], desired: DesiredState, options: PlanOptions) -> list[Change]:
    def change(live: ObservedObject, action: Action, reason: str) -> Change:
        key = live.key or ResourceKey.of(live.swarm_kind, live.swarm_name)
        state = ObjectState.BLOCKED if action is Action.BLOCKED else ObjectState.NOT_IN_MANIFESTS
        return Change(key, action, reason, swarm_name=live.swarm_name, state=state, payload=DeletePayload(live))

    if not prunes:
        return []
    if not options.prune:
        return [change(p, Action.NOOP, "not in the manifests; kept (prune with --prune)") for p in prunes]
    if desired.manifest_count == 0 and not options.allow_empty:
        return [
            change(p, Action.BLOCKED, "the manifest set is empty: refusing to prune without --allow-empty")
            for p in prunes
        ]
    if len(prunes) > options.max_prune:
        count = f"{len(prunes)} object" + ("" if len(prunes) == 1 else "s")
        reason = f"would prune {count}, more than --max-prune {options.max_prune}: nothing pruned"
        return [change(p, Action.BLOCKED, reason) for p in prunes]
    return [change(p, Action.DELETE, "managed, and no longer in the manifests") for p in prunes]
