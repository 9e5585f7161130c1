"""A plan: what would change, per object, and why. Pure data that ``apply`` consumes without
re-diffing, and that views (rich text, JSON) render.

Actions and their meaning follow the SPEC's "Plans" section.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from reconciler.state.diffing import MISSING, FieldDiff

__all__ = ["Action", "Change", "Plan"]


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "noop"
    BLOCKED = "blocked"
    CONFLICT = "conflict"


_CHANGES = {Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE}


@dataclass(frozen=True)
class Change:
    key: str  # Kind/name
    action: Action
    reason: str = ""
    diff: tuple[FieldDiff, ...] = ()
    drift: bool = False  # the live object differs from what was last applied, not only from the manifest
    swarm_name: str = ""  # the Swarm object it acts on (configs and secrets: the content-hashed name)
    # What apply needs, computed by the planner: the spec to send, the live id and version, ...
    payload: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def kind(self) -> str:
        return self.key.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split("/", 1)[1]

    @property
    def changes_something(self) -> bool:
        return self.action in _CHANGES

    @property
    def state(self) -> str:
        """The object's state in words, as ``status`` and the controller's ``/status`` show it."""
        if self.action is Action.NOOP:
            return "not in manifests" if "--prune" in self.reason else "in sync"
        if self.action is Action.CREATE:
            return "missing"
        if self.action in (Action.UPDATE, Action.REPLACE):
            return "drifted" if self.drift else "outdated"
        if self.action is Action.DELETE:
            return "old version" if "old version" in self.reason else "not in manifests"
        return self.action.value

    def as_json(self, redact: bool = False) -> dict[str, Any]:
        def show(value: Any) -> Any:
            if value is MISSING:
                return None
            return "<redacted>" if redact else value

        return {
            "key": self.key,
            "swarm_name": self.swarm_name,
            "action": self.action.value,
            "reason": self.reason,
            "drift": self.drift,
            "diff": [{"field": d.field, "before": show(d.before), "after": show(d.after)} for d in self.diff],
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

    def as_json(self) -> dict[str, Any]:
        return {
            "in_sync": self.in_sync,
            "counts": self.counts(),
            "changes": [c.as_json(redact=c.kind == "Secret") for c in self.changes],
        }
