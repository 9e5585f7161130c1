"""What the controller saw → journal entries: the translation from engine events and finished passes
to the events a person reads on the dashboard and hears about through the notifier.

``JournalFeed`` keeps the little memory that turns states into events: which objects failed (their
next settled pass is a recovery), which were recorded degraded (their next Healthy is a recovery),
whether this replica led at the last pass, the last refusal (a refused folder is reloaded every pass,
but is one event), and the last revision applied. It also feeds ``ObjectHistory`` (last change and
drift times, the diff now). Called by ``reconciler.runtime.controller`` on its loop's thread only.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.core.keys import ResourceKey
from reconciler.engine.events import ChangeFinished, OutcomeStatus
from reconciler.engine.status import ObjectStatus
from reconciler.runtime.history import ObjectHistory
from reconciler.runtime.journal import EntryKind, Journal
from reconciler.state.health import HealthState
from reconciler.state.plan import Plan

__all__ = ["JournalFeed"]


class JournalFeed:
    def __init__(self, journal: Journal, history: ObjectHistory) -> None:
        self.journal = journal
        self.history = history
        self._failed: set[str] = set()  # objects whose last change failed: their recovery is an event
        self._degraded: set[str] = set()  # objects recorded degraded: their recovery is an event
        self._was_leader: bool | None = None
        self._refused: str | None = None
        self._applied_revision: str | None = None

    def change_finished(self, event: ChangeFinished, revision: str | None) -> None:
        """A change applied (or a drift repaired, with the diff it put back) or failed."""
        change, key = event.change, str(event.change.key)
        if event.status is OutcomeStatus.DONE:
            diff = change.as_json(redact=change.kind == "Secret")["diff"]
            kind = EntryKind.DRIFT_REPAIRED if change.drift else EntryKind.APPLIED
            self.journal.record(kind, key, event.message or change.reason or change.action.value, revision,
                                {"action": change.action.value, "diff": diff})  # fmt: skip
            self.history.changed(key, drift=change.drift)
        elif event.status is OutcomeStatus.FAILED:
            self._failed.add(key)
            self.journal.record(EntryKind.SYNC_FAILED, key, event.message, revision, {"action": change.action.value})

    def leadership(self, leading: bool, revision: str | None) -> None:
        """Leadership gained or lost; the first pass counts only when leading."""
        if leading != bool(self._was_leader):
            reason = "this replica became the leader" if leading else "this replica is no longer the leader"
            self.journal.record(EntryKind.LEADERSHIP, "", reason, revision)
        self._was_leader = leading

    def refused(self, problems: str, revision: str | None) -> None:
        if problems != self._refused:  # every pass reloads the refused folder: one event per refusal
            self._refused = problems
            self.journal.record(EntryKind.REVISION_REFUSED, "", problems, revision)

    def loaded(self, revision: str | None) -> None:
        """The folder reads as valid (again): a later refusal is a new event."""
        self._refused = None
        if revision is not None:
            self.history.revision_read(revision)

    def pass_done(
        self, plan: Plan, rows: list[ObjectStatus], ok: bool, health_before: Mapping[ResourceKey, HealthState],
        revision: str | None,
    ) -> None:  # fmt: skip
        """What a finished pass changed: recoveries, health, the revision applied; ``health_before``
        is each object's health at the pass before."""
        self.history.set_plan(plan)
        for row in rows:
            key = str(row.key)
            if key in self._failed and row.state.settled:
                self._failed.discard(key)
                self.journal.record(EntryKind.SYNC_RECOVERED, key, row.reason, revision)
            if row.health is None:
                continue
            before, now = health_before.get(row.key), row.health.state
            if before == now or (before is None and now is HealthState.HEALTHY):
                continue
            # Missing counts as degraded only for an object that existed: one never created is a
            # failed or pending change (an event of its own), and its first health is no recovery.
            if now is HealthState.DEGRADED or (now is HealthState.MISSING and before not in (None, now)):
                kind = EntryKind.HEALTH_DEGRADED
                self._degraded.add(key)
            elif now is HealthState.HEALTHY and key in self._degraded:
                kind = EntryKind.HEALTH_RECOVERED
                self._degraded.discard(key)
            else:
                kind = EntryKind.HEALTH_CHANGED
            self.journal.record(kind, key, f"{now.value}: {row.health.reason}".rstrip(": "), revision,
                                {"from": before.value if before else None, "to": now.value})  # fmt: skip
        present = {str(row.key) for row in rows}
        self._failed &= present  # an object gone from the plan cannot recover
        self._degraded &= present
        if ok and revision is not None and revision != self._applied_revision:
            self._applied_revision = revision
            self.history.revision_applied(revision)
            self.journal.record(EntryKind.REVISION_APPLIED, "", f"revision {revision} is in force", revision)
