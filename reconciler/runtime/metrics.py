"""Controller facts → Prometheus series: pass durations, applied changes, drift, errors, leadership,
the current revision and object counts become the text that ``GET /metrics`` serves.

The reconcile loop and the leader elector call the plain-argument methods (``observe_pass``,
``set_leader``, ``set_revision``, ``count_error``, ...); ``reconciler.runtime.http_endpoints`` calls
``render``. Every ``Metrics`` owns its own ``CollectorRegistry``: the process-global registry would
make a second controller (or the next test) fail with "Duplicated timeseries".
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest

__all__ = ["ERROR_STAGES", "ErrorStage", "Metrics"]

ErrorStage = Literal["load", "observe", "apply", "lease", "git"]
ERROR_STAGES: tuple[ErrorStage, ...] = get_args(ErrorStage)

# No ``*_created`` series beside each counter and histogram: they double the series for a value that
# Prometheus derives itself, and read as metrics of their own (issue 16). Process-wide by design of the
# library; this module is what the controller's process exports.
disable_created_metrics()  # type: ignore[no-untyped-call]

# ``generate_latest`` writes the classic text format; newer prometheus-client versions advertise it as
# ``version=1.0.0``, which Prometheus 2.x does not know. Names here are all legacy-valid, so 0.0.4 is exact.
_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# A pass is one observe + plan + apply of the whole desired set: tens of milliseconds when nothing
# changed, minutes when it waits for services to converge.
_DURATION_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class Metrics:
    """The controller's Prometheus series in a registry of their own. Thread-safe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # Label-set swaps (revision, object states) must look atomic to a concurrent scrape.
        self._lock = threading.Lock()
        self._revision: str | None = None
        self._object_states: set[str] = set()

        r = self.registry
        self.reconcile_duration = Histogram(
            "reconciler_reconcile_duration_seconds",
            "Wall time of one reconcile pass (observe, plan, apply).",
            buckets=_DURATION_BUCKETS,
            registry=r,
        )
        # prometheus-client appends ``_total`` to counters itself.
        self.changes_applied = Counter(
            "reconciler_changes_applied",
            "Changes applied to the swarm, by object kind and action.",
            ["kind", "action"],
            registry=r,
        )
        self.drift_detected = Counter(
            "reconciler_drift_detected",
            "Objects found differing from their desired state, by kind.",
            ["kind"],
            registry=r,
        )
        self.errors = Counter(
            "reconciler_errors",
            "Errors by stage: load, observe, apply, lease, git.",
            ["stage"],
            registry=r,
        )
        self.leader = Gauge("reconciler_leader", "1 while this replica holds the lease, else 0.", registry=r)
        self.terminal = Gauge(
            "reconciler_terminal",
            "1 while the last pass failed in a way retrying cannot fix (e.g. a missing proxy permission), else 0.",
            registry=r,
        )
        self.last_success = Gauge(
            "reconciler_last_success_timestamp_seconds",
            "Unix time of the last pass that ended without errors.",
            registry=r,
        )
        self.revision_info = Gauge(
            "reconciler_revision_info",
            "Always 1, labelled with the manifest revision in force.",
            ["revision"],
            registry=r,
        )
        self.objects = Gauge(
            "reconciler_objects", "Managed objects by state, as of the last pass.", ["state"], registry=r
        )
        self.health = Gauge(
            "reconciler_objects_health",
            "Managed objects by health (Healthy, Progressing, Degraded, Missing), as of the last pass.",
            ["health"],
            registry=r,
        )
        self._health_states: set[str] = set()
        self.api_requests = Counter("reconciler_api_requests", "Requests sent to the Docker API.", registry=r)

        # Every stage exists from the start, so ``rate()`` and alerts see 0 rather than no series.
        for stage in ERROR_STAGES:
            self.errors.labels(stage=stage)
        self.leader.set(0)

    @property
    def content_type(self) -> str:
        """The ``Content-Type`` for what ``render`` returns."""
        return _CONTENT_TYPE

    def observe_pass(
        self,
        duration_s: float,
        applied: Iterable[tuple[str, str]],
        drifted: Iterable[str],
        ok: bool,
        now: float,
    ) -> None:
        """Record one finished pass: its duration, each applied ``(kind, action)``, each drifted kind.

        ``now`` (Unix seconds) becomes the last-success time when ``ok``. Failures are counted by
        ``count_error`` where they happen, not here, so a failed pass is not counted twice.
        """
        self.reconcile_duration.observe(max(duration_s, 0.0))
        for kind, action in applied:
            self.changes_applied.labels(kind=kind, action=action).inc()
        for kind in drifted:
            self.drift_detected.labels(kind=kind).inc()
        if ok:
            self.last_success.set(now)

    def set_terminal(self, terminal: bool) -> None:
        self.terminal.set(1 if terminal else 0)

    def set_leader(self, leader: bool) -> None:
        self.leader.set(1 if leader else 0)

    def set_revision(self, revision: str) -> None:
        """Make ``revision`` the only ``reconciler_revision_info`` series; ``""`` removes it."""
        with self._lock:
            if revision == self._revision:
                return
            if self._revision is not None:
                self.revision_info.remove(self._revision)
                self._revision = None
            if revision:
                self.revision_info.labels(revision=revision).set(1)
                self._revision = revision

    def set_objects(self, counts: Mapping[str, int]) -> None:
        """Replace the object counts by state; states missing from ``counts`` are dropped."""
        with self._lock:
            for state in self._object_states - counts.keys():
                self.objects.remove(state)
            for state, n in counts.items():
                self.objects.labels(state=state).set(n)
            self._object_states = set(counts)

    def set_health(self, counts: Mapping[str, int]) -> None:
        """Replace the object counts by health; healths missing from ``counts`` are dropped."""
        with self._lock:
            for health in self._health_states - counts.keys():
                self.health.remove(health)
            for health, n in counts.items():
                self.health.labels(health=health).set(n)
            self._health_states = set(counts)

    def count_error(self, stage: ErrorStage) -> None:
        if stage not in ERROR_STAGES:
            raise ValueError(f"unknown error stage {stage!r}; expected one of {', '.join(ERROR_STAGES)}")
        self.errors.labels(stage=stage).inc()

    def count_api_requests(self, n: int = 1) -> None:
        self.api_requests.inc(n)

    def render(self) -> bytes:
        """The Prometheus text exposition of every series in this registry."""
        with self._lock:
            return generate_latest(self.registry)
