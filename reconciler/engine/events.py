"""Events the engine emits while it works; views (the CLI, the controller's logs) render them.

The engine never prints. A sink is any callable taking an event; the default drops them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from reconciler.state.plan import Change

__all__ = ["ChangeFinished", "ChangeStarted", "Event", "EventSink", "Observed", "OutcomeStatus", "Waiting", "discard"]


class OutcomeStatus(StrEnum):
    DONE = "done"
    NOOP = "noop"
    KEPT = "kept"  # a deletion that had to wait (an old config still in use): not a failure
    FAILED = "failed"
    SKIPPED = "skipped"  # not attempted: something it depends on failed
    BLOCKED = "blocked"
    CONFLICT = "conflict"
    RETRY = "retry"  # the object changed meanwhile: observe and plan again


@dataclass(frozen=True)
class Observed:
    objects: int
    requests: int


@dataclass(frozen=True)
class ChangeStarted:
    change: Change


@dataclass(frozen=True)
class ChangeFinished:
    change: Change
    status: OutcomeStatus
    message: str = ""


@dataclass(frozen=True)
class Waiting:
    key: str
    message: str


Event = Observed | ChangeStarted | ChangeFinished | Waiting
EventSink = Callable[[Event], None]


def discard(event: Event) -> None:
    """The default sink."""
