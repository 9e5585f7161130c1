"""Planning the Traefik labels of routes whose target service the reconciler does not manage
(for example one deployed with ``docker stack deploy``).

Only the label keys the routes own are added, changed or removed; every other label and the rest of
the service stay as they are. The keys owned are recorded on the service itself
(``reconciler.swarm/route-label-keys``), so that a removed route takes exactly its keys away, and
a key the service already had with the same value is never claimed. A redeploy that wipes the labels
is drift and is put back. Pure; called by ``planning.make_plan``.
"""

from __future__ import annotations

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import ROUTE_LABEL_KEYS, ROUTES_MANAGED_BY
from reconciler.state.desired import DesiredState
from reconciler.state.diffing import diff_essences
from reconciler.state.observed import ObservedObject, ObservedState
from reconciler.state.plan import Action, Change, ObjectState, RouteLabelsPayload

__all__ = ["route_label_changes"]


def route_label_changes(desired: DesiredState, observed: ObservedState) -> list[Change]:
    changes = []
    for service, (routes, wanted) in desired.route_labels.items():
        live = observed.find("service", service)
        key = ResourceKey.of("Service", service)
        if live is None:
            changes.append(Change(key, Action.BLOCKED, f"{', '.join(routes)}: the service {service!r} does not exist",
                                  swarm_name=service, state=ObjectState.BLOCKED))  # fmt: skip
            continue
        if live.managed_by is not None and live.managed_by != desired.instance:
            changes.append(Change(key, Action.CONFLICT, f"{', '.join(routes)}: the service is managed by instance "
                                  f"{live.managed_by!r}", swarm_name=service, state=ObjectState.CONFLICT))  # fmt: skip
            continue
        if _owner(live) not in (None, desired.instance):
            changes.append(Change(key, Action.CONFLICT, f"{', '.join(routes)}: its route labels belong to instance "
                                  f"{_owner(live)!r}", swarm_name=service, state=ObjectState.CONFLICT))  # fmt: skip
            continue
        changes.append(_patch(key, live, wanted, desired.instance, f"labels of {', '.join(routes)}"))
    for live in observed.objects.values():
        if (
            live.swarm_kind == "service"
            and _owner(live) == desired.instance
            and live.swarm_name not in desired.route_labels
        ):
            key = ResourceKey.of("Service", live.swarm_name)
            if desired.manifest_count == 0:
                changes.append(Change(key, Action.BLOCKED, "the manifest set is empty: refusing to remove route "
                                      "labels", swarm_name=live.swarm_name, state=ObjectState.BLOCKED))  # fmt: skip
            else:
                changes.append(_patch(key, live, {}, desired.instance, "its routes were removed"))
    return changes


def _owner(live: ObservedObject) -> str | None:
    return live.labels.get(ROUTES_MANAGED_BY)


def _patch(key: ResourceKey, live: ObservedObject, wanted: dict[str, str], instance: str, why: str) -> Change:
    current = live.labels
    owned_before = set(filter(None, current.get(ROUTE_LABEL_KEYS, "").split(",")))
    # A key the service had already, with the same value, stays the service's own.
    owned = sorted(k for k in wanted if k in owned_before or current.get(k) != wanted[k])
    labels = {
        k: v for k, v in current.items() if k not in owned_before and k not in (ROUTES_MANAGED_BY, ROUTE_LABEL_KEYS)
    }
    labels.update(wanted)
    if owned:
        labels.update({ROUTES_MANAGED_BY: instance, ROUTE_LABEL_KEYS: ",".join(owned)})
    if labels == current:
        return Change(key, Action.NOOP, f"in sync ({why})", swarm_name=live.swarm_name)
    before = {k: v for k, v in current.items() if k in owned_before | set(wanted)}
    diff = tuple(diff_essences({"Labels": before}, {"Labels": {k: labels[k] for k in wanted}}))
    drift = bool(owned_before) and any(current.get(k) != wanted.get(k) for k in owned_before & set(wanted))
    state = ObjectState.DRIFTED if drift else ObjectState.OUTDATED
    return Change(key, Action.UPDATE, f"route labels on a service the reconciler does not manage ({why})", diff, drift,
                  live.swarm_name, state, payload=RouteLabelsPayload(live, labels))  # fmt: skip
