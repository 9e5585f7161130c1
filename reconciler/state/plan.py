"""A plan: what would change, per object, and why. Pure data that ``apply`` consumes without
re-diffing, and that views (rich text, JSON) render.

Each ``Change`` says what to do (``Action``, the SPEC's "Plans" section), the object's state as the
planner found it (``ObjectState``, the SPEC's status vocabulary) and, in a typed payload, what
``apply`` needs (the spec to send, the live ID and version). Built by ``engine.planning``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.core.keys import ResourceKey
from reconciler.state.desired import DesiredObject
from reconciler.state.diffing import MISSING, FieldDiff
from reconciler.state.health import Health
from reconciler.state.observed import ObservedObject
from reconciler.state.readable_diff import readable_diffs

__all__ = [
    "Action",
    "Change",
    "CreatePayload",
    "DeletePayload",
    "Notice",
    "ObjectState",
    "Payload",
    "Plan",
    "RouteLabelsPayload",
    "UpdatePayload",
]


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "noop"
    BLOCKED = "blocked"
    CONFLICT = "conflict"


class ObjectState(StrEnum):
    """An object's sync state, as ``status`` and the controller's ``/status`` show it."""

    IN_SYNC = "in sync"
    MISSING = "missing"  # in the manifests, not in the swarm
    OUTDATED = "outdated"  # the manifest changed since it was applied
    DRIFTED = "drifted"  # changed in the swarm since it was applied
    BLOCKED = "blocked"
    CONFLICT = "conflict"
    NOT_IN_MANIFESTS = "not in manifests"  # managed, no manifest any more (pruned only with --prune)
    OLD_VERSION = "old version"  # a config/secret version that a rotation replaced, to be removed
    RETAINED = "kept for rollback"  # an old version a service's current or previous spec still names
    NOT_CONVERGING = "not converging"  # written, yet the engine stores something else: held on a backoff

    @property
    def settled(self) -> bool:
        """Nothing to do: in sync, or an old version kept on purpose."""
        return self in (ObjectState.IN_SYNC, ObjectState.RETAINED)


class Notice(StrEnum):
    """Something a change rests on that the reconciler cannot prove, shown beside its reason."""

    # An adopted secret keeps the name docker stack deploy gave it (``state.content_names``): its
    # value cannot be read back, so the manifest's file is taken to be what it holds; the engine
    # refuses the adoption's label update if it is not (swarmkit controlapi/secret.go UpdateSecret).
    TRUSTED_SECRET = "trusted-secret-content"
    # The instance's name key is made while secrets it named under a key now gone are in the swarm
    # (``state.content_names``): each is renamed, and the services that use them restart.
    NEW_NAME_KEY = "new-name-key"
    # Any update of a job service (``mode: replicated-job`` or ``global-job``), its labels alone too,
    # runs the job again: swarmkit manager/controlapi/service.go UpdateService increments
    # ``JobStatus.JobIteration`` and the job orchestrator starts the new iteration's tasks.
    JOB_RERUN = "job-rerun"

    @property
    def text(self) -> str:
        return {
            Notice.TRUSTED_SECRET: "the secret keeps its stack name on trust that it holds the manifest's file "
            "(a secret cannot be read back); the engine refuses the adoption if it does not",
            Notice.NEW_NAME_KEY: "this instance's name key is gone (its config was removed) while secrets named "
            "under it are in the swarm: a new key renames every secret, restarting the services that use them; "
            "to keep the names, restore the config from a backup (its data and labels) instead",
            Notice.JOB_RERUN: "this is a job service: any update of it, an adoption's labels alone too, runs the "
            "job again (new tasks; swarmkit's JobIteration)",
        }[self]


_CHANGES = {Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE}


@dataclass(frozen=True)
class CreatePayload:
    desired: DesiredObject


@dataclass(frozen=True)
class UpdatePayload:
    """An update in place, or a replace (networks) or adoption: the spec to send and the live object."""

    desired: DesiredObject
    live: ObservedObject


@dataclass(frozen=True)
class DeletePayload:
    live: ObservedObject
    rotation: bool = False  # an old config/secret version: kept (not failed) while still in use


@dataclass(frozen=True)
class RouteLabelsPayload:
    """Route labels on a service the reconciler does not manage: its whole new label set."""

    live: ObservedObject
    labels: dict[str, str]


Payload = CreatePayload | UpdatePayload | DeletePayload | RouteLabelsPayload | None


@dataclass(frozen=True)
class Change:
    key: ResourceKey
    action: Action
    reason: str = ""
    diff: tuple[FieldDiff, ...] = ()
    drift: bool = False  # the live object differs from what was last applied, not only from the manifest
    swarm_name: str = ""  # the Swarm object it acts on (configs and secrets: the content-hashed name)
    state: ObjectState = ObjectState.IN_SYNC
    health: Health | None = None  # the live object's health; None where it has none (a Volume)
    # What apply needs, computed by the planner: the spec to send, the live id and version, ...
    payload: Payload = field(default=None, compare=False, repr=False)
    notices: tuple[Notice, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.key, ResourceKey):  # accept "Kind/name" text from callers and tests
            object.__setattr__(self, "key", ResourceKey.parse(self.key))

    @property
    def kind(self) -> str:
        return self.key.kind

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def changes_something(self) -> bool:
        return self.action in _CHANGES

    @property
    def desired(self) -> DesiredObject | None:
        payload = self.payload
        return payload.desired if isinstance(payload, CreatePayload | UpdatePayload) else None

    def as_json(self, redact: bool = False) -> dict[str, Any]:
        def show(value: Any) -> Any:
            if value is MISSING:
                return None
            return "<redacted>" if redact else value

        return {
            "key": str(self.key),
            "swarm_name": self.swarm_name,
            "action": self.action.value,
            "reason": self.reason,
            "drift": self.drift,
            "diff": [{"field": d.field, "before": show(d.before), "after": show(d.after)} for d in self.diff],
            # The same differences as `diff` prints them: manifest field names, list entries one by one.
            "fields": [r.as_json(redact) for r in readable_diffs(str(self.key), self.diff)],
            "health": self.health.state.value if self.health else None,
            "health_reason": self.health.reason if self.health else "",
            "notices": [{"notice": n.value, "text": n.text} for n in self.notices],
        }


@dataclass(frozen=True)
class Plan:
    changes: tuple[Change, ...] = ()

    @property
    def in_sync(self) -> bool:
        """Nothing to create, update, replace or delete, and nothing blocked or in conflict."""
        return all(c.action is Action.NOOP for c in self.changes)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for change in self.changes:
            out[change.action.value] = out.get(change.action.value, 0) + 1
        return out

    def summary(self) -> dict[str, int]:
        """Objects by what would happen to them, in the words of the summary line."""
        counts = self.counts()
        return {
            "to_create": counts.get(Action.CREATE.value, 0),
            "to_update": counts.get(Action.UPDATE.value, 0),
            "to_replace": counts.get(Action.REPLACE.value, 0),
            "to_delete": counts.get(Action.DELETE.value, 0),
            "blocked": counts.get(Action.BLOCKED.value, 0),
            "conflicts": counts.get(Action.CONFLICT.value, 0),
            "unchanged": counts.get(Action.NOOP.value, 0),
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "in_sync": self.in_sync,
            "counts": self.counts(),
            "summary": self.summary(),
            "changes": [c.as_json(redact=c.kind == "Secret") for c in self.changes],
        }
