"""The controller: triggers wake one level-triggered loop that loads the manifests, observes,
plans and (when leading) applies — ``reconcile_once`` each time, on the whole desired state.

Safety: a revision with any invalid manifest is not applied; the last good one stays in force and
the error is shown in ``/status``, the logs and the metrics. A revision whose files change while
they are read is not used (the next event brings the settled one). Failures are retried with
exponential backoff and jitter (tenacity's wait strategy), a periodic resync runs regardless, and a
replica that loses its lease stops writing at once. Called by ``reconciler run``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Protocol

import tenacity

from reconciler.core.hashing import short_hash
from reconciler.core.labels import LEASE_CONFIG_PREFIX
from reconciler.engine.applying import NotAllowedToWrite
from reconciler.engine.events import ChangeFinished, Event
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once, reconcile_once
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.runtime.metrics import ErrorStage
from reconciler.runtime.triggers import Wakeup, watch_manifests
from reconciler.state.desired import DesiredState, compile_desired
from reconciler.state.plan import Action, Change, Plan
from reconciler.swarm.docker_api import DockerSwarm
from reconciler.swarm.events import EventStream
from reconciler.swarm.port import SwarmError

__all__ = ["Controller", "ControllerConfig", "manifest_revision"]

log = logging.getLogger(__name__)


class Leadership(Protocol):
    @property
    def is_leader(self) -> bool: ...


class MetricsSink(Protocol):
    def observe_pass(
        self, duration_s: float, applied: list[tuple[str, str]], drifted: list[str], ok: bool, now: float
    ) -> None: ...

    def count_error(self, stage: ErrorStage) -> None: ...

    def set_revision(self, revision: str) -> None: ...


@dataclass(frozen=True)
class ControllerConfig:
    manifests: Path
    instance: str = "reconciler"
    options: PlanOptions = field(default_factory=PlanOptions)
    resync_s: float = 60.0
    dependency_timeout_s: float = 120.0
    watch: bool = True
    events: bool = True


def manifest_revision(manifests: ManifestSet) -> str:
    """A content hash of a manifest set: the same manifests give the same revision, whatever the files."""
    digest = short_hash(
        {
            "manifests": {r.key: r.model_dump(mode="json", by_alias=True) for r in manifests},
            "contents": {k: short_hash(v, 64) for k, v in sorted(manifests.contents.items())},
        },
        length=12,
    )
    return f"sha256:{digest}"


def _as_applied(plan: Plan, done: list[Change]) -> Plan:
    """The plan as the swarm stands after the pass: what was applied is in sync (deletions are gone)."""
    applied = {id(c) for c in done}
    return Plan(
        tuple(
            replace(c, action=Action.NOOP, reason="applied", drift=False) if id(c) in applied else c
            for c in plan.changes
            if not (id(c) in applied and c.action is Action.DELETE)
        )
    )


def _fingerprint(root: Path) -> list[tuple[str, int, int]]:
    found = []
    for path in sorted(root.rglob("*")):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
    return found


class Controller:
    def __init__(
        self,
        config: ControllerConfig,
        swarm: DockerSwarm,
        leadership: Leadership | None = None,
        metrics: MetricsSink | None = None,
        revision_of: Callable[[], str | None] | None = None,
    ) -> None:
        self.config = config
        self.swarm = swarm
        self.leadership = leadership
        self.metrics = metrics
        self.revision_of = revision_of  # the Git commit, when a Git sync feeds the folder
        self.wakeup = Wakeup()
        self._lock = threading.Lock()
        self._desired: DesiredState | None = None
        self._revision: str | None = None
        self._failures = 0
        self._backoff = tenacity.wait_exponential_jitter(multiplier=0.5, max=30.0, jitter=0.5)
        self._status: dict[str, Any] = {"revision": None, "last_error": None, "last_result": None, "objects": []}
        self._passes = 0
        self._loaded_from: tuple[Path, list[tuple[str, int, int]]] | None = None

    # -- what the HTTP endpoints show -------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self.leadership is None or self.leadership.is_leader

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {**self._status, "instance": self.config.instance, "leader": self.is_leader, "passes": self._passes}

    def ready(self) -> bool:
        with self._lock:
            return self._passes > 0 and self._status["last_result"] is not None

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
        began = time.monotonic()
        self._load()
        desired = self._desired
        if desired is None:
            self._finish(began, None, ok=False)
            return
        try:
            if self.is_leader:
                result = reconcile_once(
                    self.swarm, desired, self.config.options, self._on_engine_event,
                    self.config.dependency_timeout_s, guard=lambda: self.is_leader,
                )  # fmt: skip
                done = [o.change for o in result.applied.outcomes if o.status.value == "done"]
                applied = [(c.kind, c.action.value) for c in done]
                drifted = [c.kind for c in result.plan.changes if c.drift and c.action is not Action.NOOP]
                plan, ok = _as_applied(result.plan, done), result.converged
            else:
                _, plan = plan_once(self.swarm, desired, self.config.options)
                ok, applied, drifted = True, [], []
        except NotAllowedToWrite as exc:
            log.warning("lost the lease during a pass: %s", exc, extra={"revision": self._revision})
            self._finish(began, None, ok=False)
            return
        except SwarmError as exc:
            log.error("engine: %s", exc, extra={"revision": self._revision})
            self._error("observe", str(exc))
            self._finish(began, None, ok=False)
            return
        self._finish(began, plan, ok, applied, drifted)

    # -- steps ------------------------------------------------------------------------------------

    def _load(self) -> None:
        root = self.config.manifests.resolve()  # one resolution: a swapped symlink is one revision
        before = _fingerprint(root)
        if (root, before) == self._loaded_from and self._desired is not None:
            return  # nothing on disk changed since the last good load: no need to parse it again
        try:
            manifests = load_manifests(root)
        except ManifestError as exc:
            lines = [str(p) for p in exc.problems]
            log.error("invalid manifests: the last good revision stays in force:\n%s", "\n".join(lines[:20]),
                      extra={"revision": self._revision})  # fmt: skip
            self._error("load", "\n".join(lines))
            return
        if _fingerprint(root) != before:
            self.wakeup.wake_at(0.2, "manifests-settling")  # written while read: wait for the settled files
            return
        revision = (self.revision_of() if self.revision_of else None) or manifest_revision(manifests)
        with self._lock:
            self._status["last_error"] = None
        if revision == self._revision and self._desired is not None:
            self._loaded_from = (root, before)
            return
        self._loaded_from = (root, before)
        self._desired = compile_desired(manifests, self.config.instance)
        self._revision = revision
        with self._lock:
            self._status["revision"] = revision
        if self.metrics:
            self.metrics.set_revision(revision)
        log.info("manifest revision %s: %d manifests", revision, len(manifests), extra={"revision": revision})

    def _on_engine_event(self, event: Event) -> None:
        if isinstance(event, ChangeFinished):
            level = logging.INFO if event.status.value in ("done", "noop", "kept") else logging.WARNING
            log.log(level, "%s %s: %s", event.change.action.value, event.status.value, event.message,
                    extra={"revision": self._revision, "object": event.change.key})  # fmt: skip

    def _error(self, stage: ErrorStage, message: str) -> None:
        with self._lock:
            self._status["last_error"] = {"stage": stage, "message": message, "at": time.time()}
        if self.metrics:
            self.metrics.count_error(stage)

    def _finish(
        self,
        began: float,
        plan: Plan | None,
        ok: bool,
        applied: list[tuple[str, str]] | None = None,
        drifted: list[str] | None = None,
    ) -> None:
        duration = time.monotonic() - began
        with self._lock:
            self._passes += 1
            if plan is not None:
                self._status["objects"] = [
                    {"key": c.key, "swarm_name": c.swarm_name, "state": c.state, "reason": c.reason}
                    for c in plan.changes
                ]
                self._status["last_result"] = {
                    "at": time.time(), "ok": ok, "duration_s": round(duration, 3), "counts": plan.counts(),
                    "leader": self.is_leader,
                }  # fmt: skip
        if self.metrics and plan is not None:
            self.metrics.observe_pass(duration, applied or [], drifted or [], ok, time.time())
        if ok and plan is not None:
            self._failures = 0
        else:
            self._failures += 1
            delay = self._backoff(SimpleNamespace(attempt_number=self._failures))  # type: ignore[arg-type]
            self.wakeup.wake_at(delay, "retry")
        self.wakeup.wake_at(self.config.resync_s, "resync")
