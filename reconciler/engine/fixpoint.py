"""The fixpoint check: after writing, the swarm must read back as the manifests say; an object that
does not is "not converging" and is not rewritten in a loop.

``check_fixpoint`` re-observes once after a pass that wrote something and lists every written object
that still differs, with each field: what the manifest says and what the engine stored (the mark of
an Engine quirk that ``state.stored_form`` does not know yet). ``Holds`` is the controller's memory
of them: an object that did not converge is held (planned as ``blocked``, state ``not converging``)
for the same desired spec, on an exponential backoff, so no input can make the controller write in a
loop; a changed manifest (a new spec hash) releases it at once. Called by ``reconcile_once`` and the
controller.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.keys import ResourceKey
from reconciler.engine.applying import ApplyResult
from reconciler.engine.events import OutcomeStatus
from reconciler.state.diffing import MISSING, FieldDiff
from reconciler.state.plan import Action, Plan

__all__ = ["Holds", "NotConverging", "check_fixpoint", "describe", "written_by"]

_WRITES = (Action.CREATE, Action.UPDATE, Action.REPLACE)
FIRST_HOLD_S = 10.0  # seconds an object that did not converge is left alone the first time; doubled each time
MAX_HOLD_S = 600.0


@dataclass(frozen=True)
class NotConverging:
    """A written object that still differs: ``spec_hash`` is the desired spec's hash it was written from."""

    key: ResourceKey
    spec_hash: str
    diff: tuple[FieldDiff, ...]

    @property
    def reason(self) -> str:
        return "not converging: after the write " + describe(self.diff)


def describe(diff: tuple[FieldDiff, ...], most: int = 5) -> str:
    """``Field: the manifest says X, the engine stored Y``, for people (at most ``most`` fields)."""

    def show(value: Any) -> str:
        return "(none)" if value is MISSING else json.dumps(value, sort_keys=True, default=str)

    parts = [f"{d.field}: the manifest says {show(d.after)}, the engine stored {show(d.before)}" for d in diff[:most]]
    more = f" (+{len(diff) - most} more)" if len(diff) > most else ""
    return "; ".join(parts) + more


def written_by(applied: ApplyResult) -> dict[ResourceKey, str]:
    """Key → desired spec hash of every object the pass created, changed or replaced."""
    return {
        o.change.key: o.change.desired.hash
        for o in applied.outcomes
        if o.status is OutcomeStatus.DONE and o.change.action in _WRITES and o.change.desired is not None
    }


def check_fixpoint(applied: ApplyResult, replan: Callable[[], Plan]) -> tuple[tuple[NotConverging, ...], Plan | None]:
    """``replan``: observe again and plan (only called when something was written). Returns what did
    not converge and the re-observed plan (its health is the swarm's right after the writes)."""
    written = written_by(applied)
    if not written:
        return (), None
    after = replan()
    found = tuple(
        NotConverging(c.key, written[c.key], c.diff)
        for c in after.changes
        if c.key in written and c.action in (Action.UPDATE, Action.REPLACE)
    )
    return found, after


@dataclass
class _Hold:
    spec_hash: str
    attempts: int
    until: float  # monotonic seconds
    reason: str


@dataclass
class Holds:
    """Objects that did not converge, held per desired spec hash on an exponential backoff."""

    clock: Callable[[], float] = time.monotonic
    _held: dict[ResourceKey, _Hold] = field(default_factory=dict)

    def record(self, found: tuple[NotConverging, ...], written: Mapping[ResourceKey, str]) -> None:
        """After a pass: hold what did not converge; release what was written and converged."""
        for key in written:
            if key not in {n.key for n in found}:
                self._held.pop(key, None)
        for item in found:
            before = self._held.get(item.key)
            attempts = before.attempts + 1 if before and before.spec_hash == item.spec_hash else 1
            wait = min(FIRST_HOLD_S * 2 ** (attempts - 1), MAX_HOLD_S)
            self._held[item.key] = _Hold(item.spec_hash, attempts, self.clock() + wait, item.reason)

    def active(self) -> dict[ResourceKey, tuple[str, str]]:
        """Key → (spec hash, reason) of every hold still in force, for ``PlanOptions.hold``."""
        now = self.clock()
        return {
            k: (h.spec_hash, f"{h.reason}; next try in {h.until - now:.0f}s")
            for k, h in self._held.items()
            if h.until > now
        }

    def next_expiry(self) -> float | None:
        """Seconds until the first hold in force ends, or None."""
        now = self.clock()
        waits = [h.until - now for h in self._held.values() if h.until > now]
        return min(waits) if waits else None

    def __len__(self) -> int:
        return len(self._held)
