"""The controller: triggers wake one level-triggered loop that loads the manifests while it observes
(``early_observation``: the pass's one observation, read on a thread), plans and (when leading)
applies — ``reconcile_once`` each time, on the whole desired state.

Safety: a revision with any invalid manifest is not applied; the last good one stays in force and
the error is shown in ``/status``, the logs and the metrics (``manifest_source``). Each pass's
``Result`` is handled in one place (``_handle``): transient failures come back after
``requeue_after`` with exponential backoff and jitter (tenacity's wait strategy); a terminal one is
not retried (a new revision, a Docker event or the periodic resync bring the next pass) and shows in
``/status`` (``terminal``) and the ``reconciler_terminal`` metric; a replica that loses its lease
stops writing at once. Called by the runtime's manager (``reconciler run``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import tenacity

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import LEASE_CONFIG_PREFIX
from reconciler.engine.applying import ApplyResult, NotAllowedToWrite
from reconciler.engine.events import ChangeFinished, Event, OutcomeStatus
from reconciler.engine.fixpoint import Holds
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import Result, plan_once, reconcile_once
from reconciler.engine.scheduling import DEFAULT_WORKERS
from reconciler.engine.status import after_apply, object_statuses
from reconciler.runtime import collector
from reconciler.runtime.early_observation import EarlyObservation
from reconciler.runtime.history import ObjectHistory, rendered_for
from reconciler.runtime.journal import EntryKind, Journal
from reconciler.runtime.journal_feed import JournalFeed
from reconciler.runtime.manifest_source import Loaded, ManifestSource, Refused, Settling, manifest_revision
from reconciler.runtime.metrics import ErrorStage
from reconciler.runtime.triggers import Wakeup, watch_manifests
from reconciler.state.health import HealthState
from reconciler.state.plan import Action, Plan
from reconciler.state.plan_memo import PlanMemo
from reconciler.swarm.events import EventStream
from reconciler.swarm.port import SwarmError, SwarmPort

__all__ = ["Controller", "ControllerConfig", "manifest_revision"]

log = logging.getLogger(__name__)
PROGRESS_RECHECK_S = 3.0  # seconds between passes while something is Progressing (a rollout, an allocation)


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...


class MetricsSink(Protocol):
    def observe_pass(
        self, duration_s: float, applied: list[tuple[str, str]], drifted: list[str], ok: bool, now: float
    ) -> None: ...

    def count_error(self, stage: ErrorStage) -> None: ...

    def set_revision(self, revision: str) -> None: ...

    def set_terminal(self, terminal: bool) -> None: ...

    def set_objects(self, counts: Mapping[str, int]) -> None: ...

    def set_health(self, counts: Mapping[str, int]) -> None: ...

    def count_api_requests(self, n: int = 1) -> None: ...


@dataclass(frozen=True)
class ControllerConfig:
    manifests: Path
    instance: str = "reconciler"
    options: PlanOptions = field(default_factory=PlanOptions)
    resync_s: float = 60.0
    dependency_timeout_s: float = 120.0
    apply_workers: int = DEFAULT_WORKERS  # changes written at once where independent (engine.scheduling)
    watch: bool = True
    events: bool = True
    checkout: Path | None = None  # the Git sync's `current` link when it feeds `manifests` (below it)


class Controller:
    def __init__(
        self,
        config: ControllerConfig,
        swarm: SwarmPort,
        leadership: Leadership | None = None,
        metrics: MetricsSink | None = None,
        revision_of: Callable[[], str | None] | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.config = config
        self.swarm = swarm
        self.leadership = leadership
        self.metrics = metrics
        self.source = ManifestSource(config.manifests, config.instance, revision_of, config.checkout)
        self.wakeup = Wakeup()
        self._lock = threading.Lock()
        self._awaiting_checkout = False  # said once: the Git sync's first checkout is not there yet
        self._failures = 0
        self._backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=30.0, jitter=0.5)
        self._status: dict[str, Any] = {
            "revision": None, "last_error": None, "last_result": None, "terminal": None, "objects": [],
        }  # fmt: skip
        self._passes = 0
        # Whether the engine answered the last pass: /readyz is 503 while it does not (issue 16).
        self._engine_answered = False
        self.holds = Holds()  # objects that did not converge: not rewritten for the same spec but on a backoff
        self.plan_memo = PlanMemo()  # what the last pass planned, reused where neither side changed
        self._requests_counted = 0
        self._last_health: dict[ResourceKey, HealthState] = {}  # the port's request count already added to the metric
        self.journal = journal if journal is not None else Journal()  # what the dashboard and notifier read
        self.history = ObjectHistory()  # per object: its diff now, when it last changed and drifted
        self.feed = JournalFeed(self.journal, self.history)

    # -- what the HTTP endpoints show -------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self.leadership is None or self.leadership.is_leader

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {**self._status, "instance": self.config.instance, "leader": self.is_leader, "passes": self._passes}

    def dashboard_state(self) -> dict[str, Any]:
        """``status()`` plus what only the dashboard shows: when the revision was read and applied,
        the next resync, and per object its last change and drift (``reconciler.runtime.dashboard``)."""
        report = self.status()
        report["revision_times"] = self.history.revision_times()
        report["next_resync_at"] = self.history.next_resync_at
        report["objects"] = [{**row, **self.history.times(row["key"])} for row in report["objects"]]
        return report

    def object_detail(self, key: str) -> dict[str, Any] | None:
        """One object's row, its field-level diff now (``diff -o json``'s change, secrets redacted) and
        what is rendered for it (Traefik labels, keepalived.conf); None if the controller has no such object."""
        row = next((r for r in self.dashboard_state()["objects"] if r["key"] == key), None)
        if row is None:
            return None
        return {"row": row, "change": self.history.change(key), "rendered": rendered_for(self.source.desired, key)}

    def ready(self) -> bool:
        with self._lock:
            return self._passes > 0 and self._status["last_result"] is not None and self._engine_answered

    # -- the loop ---------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        threads = []
        events: EventStream | None = None
        if self.config.watch:
            threads.append(threading.Thread(target=watch_manifests, args=(self.config.manifests, self.wakeup, stop),
                                            name="watch-manifests", daemon=True))  # fmt: skip
        if self.config.events:
            events = EventStream(
                self.swarm, on_event=self._on_docker_event,
                on_connect=lambda: self.wakeup.wake("events-connected"),
                on_lost=lambda: self.wakeup.wake("events-lost"),
            )  # fmt: skip
            threads.append(threading.Thread(target=events.run, args=(stop,), name="docker-events", daemon=True))
        for thread in threads:
            thread.start()
        self.wakeup.wake("start")
        try:
            while not stop.is_set():
                reasons = self.wakeup.wait(stop)
                if reasons:
                    log.debug("woken by %s", ", ".join(sorted(reasons)))
                    self.pass_once()
        finally:
            if events is not None:
                events.close()
            for thread in threads:
                thread.join(timeout=2.0)

    def _on_docker_event(self, event: dict[str, Any]) -> None:
        name = str((event.get("Actor") or {}).get("Attributes", {}).get("name", ""))
        if event.get("Type") == "config" and name.startswith(LEASE_CONFIG_PREFIX):
            return  # every lease renewal is a config update: not a reason to reconcile
        self.wakeup.wake(f"event:{event.get('Type')}")

    def pass_once(self) -> None:
        """One pass: load, then reconcile (leader) or only plan (follower), then ``_handle``; Python's
        cycle collector waits until the pass is over (``collector.paused``)."""
        with collector.paused():
            self._pass()

    def _pass(self) -> None:
        began = time.monotonic()
        if self.leadership is not None:  # without leader election, always leading: no event
            self.feed.leadership(self.is_leader, self.source.revision)
        # The pass's observation, read while the manifests load; not while the first revision loads
        # whole: its parse and validation peak would add to the observation's (issue 18, memory).
        early = EarlyObservation(self.swarm) if self.source.desired is not None else None
        self._load()
        desired = self.source.desired
        if desired is None:
            self._record(began, None, ok=False)
            self._schedule(retry_after=0.0)
            return
        # Taken only while fresh (``early_observation.MAX_AGE_S``), by a leader and a follower alike.
        fresh = early if early is not None and early.fresh() else None
        try:
            if self.is_leader:
                options = replace(self.config.options, hold=self.holds.active(), memo=self.plan_memo)
                result = reconcile_once(
                    self.swarm, desired, options, self._on_engine_event,
                    self.config.dependency_timeout_s, guard=lambda: self.is_leader,
                    workers=self.config.apply_workers,
                    observation=fresh.result if fresh is not None else None,
                )  # fmt: skip
                self.holds.record(result.not_converging, result.written)
                for item in result.not_converging:
                    log.error("%s %s", item.key, item.reason, extra={"revision": self.source.revision,
                                                                        "object": str(item.key)})  # fmt: skip
                    self.journal.record(EntryKind.NOT_CONVERGING, str(item.key), item.reason, self.source.revision)
            else:
                options = replace(self.config.options, memo=self.plan_memo)
                _, plan = plan_once(self.swarm, desired, options, observed=fresh.result() if fresh else None)
                result = Result(plan, ApplyResult())
        except NotAllowedToWrite as exc:
            log.warning("lost the lease during a pass: %s", exc, extra={"revision": self.source.revision})
            self._record(began, None, ok=False)
            self._schedule(retry_after=0.0)
            return
        except SwarmError as exc:  # a follower's observation
            with self._lock:
                self._engine_answered = False
            log.error("engine: %s", exc, extra={"revision": self.source.revision})
            self.journal.record(EntryKind.ERROR, "", str(exc), self.source.revision)
            self._error("observe", str(exc))
            self._record(began, None, ok=False)
            self._schedule(retry_after=0.0)
            return
        self._handle(began, result)

    # -- steps ------------------------------------------------------------------------------------

    def _load(self) -> None:
        checkout = self.source.checkout
        if checkout is not None and self.source.desired is None and not checkout.exists():
            # The Git sync has not checked out its first revision yet: nothing to read and nothing wrong
            # (the poller wakes the loop when the revision is there; a failed clone is the Git report's).
            if not self._awaiting_checkout:
                log.info("waiting for the first Git checkout (%s)", checkout)
                self._awaiting_checkout = True
            return
        loaded = self.source.load()
        if isinstance(loaded, Refused):
            log.error("invalid manifests: the last good revision stays in force:\n%s", "\n".join(loaded.problems[:20]),
                      extra={"revision": self.source.revision})  # fmt: skip
            self._error("load", "\n".join(loaded.problems))
            self.feed.refused("\n".join(loaded.problems[:20]), self.source.revision)
            return
        if isinstance(loaded, Settling):
            self.wakeup.wake_at(0.2, "manifests-settling")  # written while read: wait for the settled files
            return
        with self._lock:  # the folder is valid again (or still): an old load error is gone
            if self._status["last_error"] and self._status["last_error"]["stage"] == "load":
                self._status["last_error"] = None
        self.feed.loaded(loaded.revision if isinstance(loaded, Loaded) else None)
        if isinstance(loaded, Loaded):
            with self._lock:
                self._status["revision"] = loaded.revision
            if self.metrics:
                self.metrics.set_revision(loaded.revision)
            log.info("manifest revision %s: %d manifests", loaded.revision, loaded.manifest_count,
                     extra={"revision": loaded.revision})  # fmt: skip

    def _handle(self, began: float, result: Result) -> None:
        """The one place a pass's ``Result`` is acted on: status, metrics, logs and the next wake-up."""
        if result.error is not None:
            with self._lock:
                self._engine_answered = False
            log.error("engine: %s", result.error, extra={"revision": self.source.revision})
            self.journal.record(EntryKind.ERROR, "", str(result.error), self.source.revision)
            # Part-way (outcomes): the engine went away while the pass wrote. What it wrote before is in
            # the swarm: counted and shown now, as the next pass will find it done (issue 14).
            self._error("apply" if result.applied.outcomes else "observe", str(result.error))
            self._set_terminal(result)
            if result.applied.outcomes:
                applied, drifted = self._counted(result, only_done=True)
                self._record(began, after_apply(result.plan, result.applied), False, applied, drifted)
            else:
                self._record(began, None, ok=False)
            self._schedule(retry_after=result.requeue_after)
            return
        applied, drifted = self._counted(result)
        if any(o.status is OutcomeStatus.FAILED for o in result.applied.outcomes):
            self._error("apply", "; ".join(f"{o.change.key}: {o.message}" for o in result.applied.outcomes
                                           if o.status is OutcomeStatus.FAILED))  # fmt: skip
        else:
            with self._lock:  # the engine answered and every change went through: its old error is gone
                if self._status["last_error"] and self._status["last_error"]["stage"] in ("observe", "apply"):
                    self._status["last_error"] = None
        self._set_terminal(result)
        ok = result.converged
        now = after_apply(result.plan, result.applied, result.not_converging, result.after)
        self._record(began, now, ok, applied, drifted)
        self._schedule(retry_after=result.requeue_after)

    @staticmethod
    def _counted(result: Result, only_done: bool = False) -> tuple[list[tuple[str, str]], list[str]]:
        """``(kind, action)`` of each change done, and the kind of each drifted change, for the metrics.
        ``only_done``: drift only where it was repaired (a pass the engine cut short: the next pass finds
        the rest again and counts it then)."""
        done = [o.change for o in result.applied.outcomes if o.status is OutcomeStatus.DONE]
        found = done if only_done else result.plan.changes
        drifted = [c.kind for c in found if c.drift and c.action is not Action.NOOP]
        return [(c.kind, c.action.value) for c in done], drifted

    def _set_terminal(self, result: Result) -> None:
        reasons = result.terminal_reasons
        with self._lock:
            held = self._status["terminal"]
            if not reasons:
                self._status["terminal"] = None
            elif held is None or held["reasons"] != reasons:
                self._status["terminal"] = {"reasons": reasons, "since": time.time(), "revision": self.source.revision}
                log.error("stopped retrying until the manifests or the swarm change: %s", "; ".join(reasons),
                          extra={"revision": self.source.revision})  # fmt: skip
        if self.metrics:
            self.metrics.set_terminal(bool(reasons))

    def _schedule(self, retry_after: float | None) -> None:
        """The next wake-ups. ``retry_after`` (seconds, the least wait): something transient is left,
        so come back with exponential backoff and jitter; None: nothing a retry could fix (converged,
        or terminal, blocked, in conflict, held as not converging): wait for a new revision, a Docker
        event, a hold to expire, or the resync."""
        if retry_after is None:
            self._failures = 0
        else:
            self._failures += 1
            delay = self._backoff(SimpleNamespace(attempt_number=self._failures))  # type: ignore[arg-type]
            self.wakeup.wake_at(max(delay, retry_after), "retry")
        expiry = self.holds.next_expiry()
        if expiry is not None:
            self.wakeup.wake_at(expiry, "hold-expired")
        self.wakeup.wake_at(self.config.resync_s, "resync")
        self.history.next_resync_at = time.time() + self.config.resync_s

    def _on_engine_event(self, event: Event) -> None:
        if isinstance(event, ChangeFinished):
            ok = event.status in (OutcomeStatus.DONE, OutcomeStatus.NOOP, OutcomeStatus.KEPT)
            log.log(logging.INFO if ok else logging.WARNING, "%s %s: %s", event.change.action.value,
                    event.status.value, event.message,
                    extra={"revision": self.source.revision, "object": str(event.change.key)})  # fmt: skip
            self.feed.change_finished(event, self.source.revision)

    def _error(self, stage: ErrorStage, message: str) -> None:
        with self._lock:
            self._status["last_error"] = {"stage": stage, "message": message, "at": time.time()}
        if self.metrics:
            self.metrics.count_error(stage)

    def _record(
        self,
        began: float,
        plan: Plan | None,
        ok: bool,
        applied: list[tuple[str, str]] | None = None,
        drifted: list[str] | None = None,
    ) -> None:
        duration = time.monotonic() - began
        rows = object_statuses(plan) if plan is not None else []
        with self._lock:
            self._passes += 1
            if plan is not None:
                self._engine_answered = True
                self._status["objects"] = [row.as_json() for row in rows]
                self._status["last_result"] = {
                    "at": time.time(), "ok": ok, "duration_s": round(duration, 3), "counts": plan.counts(),
                    "leader": self.is_leader,
                }  # fmt: skip
        if self.metrics:
            self.metrics.count_api_requests(self.swarm.requests - self._requests_counted)
            self._requests_counted = self.swarm.requests
        if self.metrics and plan is not None:
            self.metrics.observe_pass(duration, applied or [], drifted or [], ok, time.time())
            self.metrics.set_objects(Counter(row.state.value for row in rows))
            self.metrics.set_health(Counter(row.health.state.value for row in rows if row.health))
        for row in rows:  # log health changes, not every pass's view of them
            health = row.health.state if row.health else None
            if health is not None and self._last_health.get(row.key) not in (None, health):
                level = logging.INFO if row.healthy else logging.WARNING
                log.log(level, "%s is %s: %s", row.key, health.value, row.health.reason if row.health else "",
                        extra={"revision": self.source.revision, "object": str(row.key)})  # fmt: skip
            elif health is not None and health is not HealthState.HEALTHY and row.key not in self._last_health:
                log.warning("%s is %s: %s", row.key, health.value, row.health.reason if row.health else "",
                            extra={"revision": self.source.revision, "object": str(row.key)})  # fmt: skip
        if plan is not None:
            self.feed.pass_done(plan, rows, ok, self._last_health, self.source.revision)
            self._last_health = {row.key: row.health.state for row in rows if row.health}
        if any(row.health is not None and row.health.state is HealthState.PROGRESSING for row in rows):
            self.wakeup.wake_at(PROGRESS_RECHECK_S, "progressing")  # see the rollout through, without blocking
