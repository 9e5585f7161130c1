"""A Swarm snapshot to the observed state: each object with its ID, version, ownership labels and
the pieces the planner needs (which services use which network, config or secret).

Pure: ``reconciler.swarm`` produces the snapshot, this module only reads it. Called by the engine.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import APPLIED_HASH, KIND, MANAGED_BY, NAME, STACK_NAMESPACE
from reconciler.state.health import HEALTHY, MISSING, Health, network_health, service_health
from reconciler.state.snapshot import Snapshot

__all__ = ["ObservedObject", "ObservedState", "observe_snapshot"]


@dataclass(frozen=True)
class ObservedObject:
    swarm_kind: str
    swarm_name: str
    id: str
    version: int
    raw: dict[str, Any] = field(repr=False)

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.raw.get("Spec", self.raw)
        return spec

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.spec.get("Labels") or {})

    @property
    def managed_by(self) -> str | None:
        return self.labels.get(MANAGED_BY)

    @property
    def key(self) -> ResourceKey | None:
        """The manifest key recorded on the object, if the reconciler wrote it; its stack namespace is
        docker's ``com.docker.stack.namespace`` label (``core.labels.ownership_labels``)."""
        labels = self.labels
        if not labels.get(KIND) or NAME not in labels:
            return None
        return ResourceKey.of(labels[KIND], labels[NAME], labels.get(STACK_NAMESPACE) or None)

    @property
    def applied_hash(self) -> str | None:
        return self.labels.get(APPLIED_HASH)


@dataclass(frozen=True)
class ObservedState:
    objects: dict[tuple[str, str], ObservedObject] = field(default_factory=dict)  # (swarm kind, name)
    network_names: dict[str, str] = field(default_factory=dict)  # network ID to name
    # Swarm name of a network/config/secret to the names of the services that refer to it.
    users: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)  # name to volume, on the node asked
    requests: int = 0
    tasks: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # service ID to its tasks
    taken_at: float = 0.0  # Unix seconds

    def find(self, swarm_kind: str, swarm_name: str) -> ObservedObject | None:
        return self.objects.get((swarm_kind, swarm_name))

    def managed(self, instance: str) -> list[ObservedObject]:
        return [o for o in self.objects.values() if o.managed_by == instance]

    def used_by(self, swarm_kind: str, swarm_name: str) -> set[str]:
        return self.users.get((swarm_kind, swarm_name), set())

    def health(self, live: ObservedObject | None) -> Health:
        """The live object's health (``state.health``); ``MISSING`` when there is none."""
        if live is None:
            return MISSING
        if live.swarm_kind == "service":
            return service_health(live.raw, self.tasks.get(live.id, []))
        if live.swarm_kind == "network":
            return network_health(live.raw, self.taken_at)
        return HEALTHY


def observe_snapshot(snapshot: Snapshot) -> ObservedState:
    """One pass's snapshot → the observed state (objects by Swarm kind and name, their users)."""
    objects: dict[tuple[str, str], ObservedObject] = {}
    network_names = {}
    # A swarm network wins over a node-local one of the same name: that is the one services use.
    for network in sorted(snapshot.networks, key=lambda n: n.get("Scope") == "swarm"):
        network_names[network["Id"]] = network["Name"]
        objects[("network", network["Name"])] = ObservedObject("network", network["Name"], network["Id"], 0, network)
    for swarm_kind, items in (
        ("config", snapshot.configs),
        ("secret", snapshot.secrets),
        ("service", snapshot.services),
    ):
        for item in items:
            name = item["Spec"]["Name"]
            objects[(swarm_kind, name)] = ObservedObject(swarm_kind, name, item["ID"], item["Version"]["Index"], item)
    users: dict[tuple[str, str], set[str]] = defaultdict(set)
    for service in snapshot.services:
        spec = service["Spec"]
        name = spec["Name"]
        task = spec.get("TaskTemplate") or {}
        for attachment in task.get("Networks") or []:
            target = attachment.get("Target", "")
            users[("network", network_names.get(target, target))].add(name)
        # The previous spec too: Swarm's own rollback restores it, and its configs must still exist.
        for held in (spec, service.get("PreviousSpec") or {}):
            container = (held.get("TaskTemplate") or {}).get("ContainerSpec") or {}
            for ref in container.get("Configs") or []:
                users[("config", ref.get("ConfigName", ""))].add(name)
            for ref in container.get("Secrets") or []:
                users[("secret", ref.get("SecretName", ""))].add(name)
    volumes = {v["Name"]: v for v in snapshot.volumes}
    tasks: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for task in snapshot.tasks:
        tasks[task.get("ServiceID", "")].append(task)
    return ObservedState(objects, network_names, dict(users), list(snapshot.nodes), volumes, snapshot.requests,
                         dict(tasks), snapshot.taken_at)  # fmt: skip
