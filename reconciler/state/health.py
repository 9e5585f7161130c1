"""Live Swarm objects (with their tasks) → their health, beside sync: is the thing actually working?

Argo CD's vocabulary (``Healthy``, ``Progressing``, ``Degraded``, ``Missing``): a service is
healthy when as many tasks run as it asks for and no update is paused or rolled back; progressing
while tasks start or an update rolls; degraded when a task cannot be scheduled (``no suitable
node``), keeps failing since the last update (``config not found``, a non-zero exit, an unhealthy
container: swarmkit reports a task ``running`` only once its health check passes), or when Swarm
paused or rolled back an update. A network is progressing while the swarm allocates it and degraded
when that does not happen within ``ALLOCATION_GRACE_S``. A job service (``ReplicatedJob``,
``GlobalJob``) is healthy once its current run's tasks have completed (``_job_health``). Sources: moby api/types/swarm/task.go
(task states, ``Status.Err``), service.go (``UpdateStatus`` states). Pure; called by the planner.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from reconciler.state.stored_form import is_job

__all__ = ["ALLOCATION_GRACE_S", "Health", "HealthState", "network_health", "parse_time", "service_health"]

ALLOCATION_GRACE_S = 30.0  # seconds a new swarm network may stay unallocated before it is Degraded

# moby api/types/swarm/task.go: the states before "running".
_STARTING = {"new", "allocated", "pending", "assigned", "accepted", "preparing", "ready", "starting"}
_FAILED = {"failed", "rejected", "orphaned"}
_RFC3339 = re.compile(r"(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<fraction>\d+))?(?P<zone>[Zz]|[+-]\d\d:\d\d)$")


class HealthState(StrEnum):
    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    DEGRADED = "Degraded"
    MISSING = "Missing"


@dataclass(frozen=True)
class Health:
    state: HealthState
    reason: str = ""

    @property
    def healthy(self) -> bool:
        return self.state is HealthState.HEALTHY


HEALTHY = Health(HealthState.HEALTHY)
MISSING = Health(HealthState.MISSING, "not in the swarm")


def service_health(service: dict[str, Any], tasks: Sequence[dict[str, Any]]) -> Health:
    """``service``: the Engine API service (``Spec``, ``UpdateStatus``, ``UpdatedAt``); ``tasks``:
    all of its tasks, any desired state (the failed ones explain why the current ones do not run)."""
    update = service.get("UpdateStatus") or {}
    update_state, message = update.get("State"), update.get("Message") or ""
    if update_state in ("paused", "rollback_paused"):
        return Health(HealthState.DEGRADED, f"Swarm paused the update: {message}".rstrip(": "))
    if update_state == "rollback_completed":
        return Health(HealthState.DEGRADED, f"Swarm rolled the update back: {message}".rstrip(": "))
    if is_job(service.get("Spec") or {}):
        return _job_health(service, tasks)
    since = parse_time(service.get("UpdatedAt") or service.get("CreatedAt"))
    recent = [t for t in tasks if since is None or (parse_time(_stamp(t)) or since) >= since]
    current = [t for t in tasks if t.get("DesiredState") == "running"]
    running = [t for t in current if _state(t) == "running"]
    wanted = _wanted(service, current, recent)
    counts = f"{len(running)}/{wanted} running"
    if update_state == "rollback_started":
        return Health(HealthState.PROGRESSING, f"{counts}; Swarm is rolling the update back: {message}".rstrip(": "))
    unschedulable = [t for t in current if _state(t) in _STARTING and _err(t)]
    if update_state == "updating" and unschedulable:
        # A rolling update whose new task no node can take stays "updating" for ever (seen on the
        # lab: a placement constraint no node satisfies); the task's error is the truth.
        why = f"{_state(unschedulable[0])}: {_err(unschedulable[0])}"
        return Health(HealthState.DEGRADED, f"{counts}; update in progress, a task is {why}")
    if update_state == "updating":
        return Health(HealthState.PROGRESSING, f"{counts}; update in progress")
    if len(running) >= wanted:
        return Health(HealthState.HEALTHY, counts)
    return _degraded(counts, unschedulable, recent, "failed since the last update") or Health(
        HealthState.PROGRESSING, f"{counts}; starting"
    )


def _job_health(service: dict[str, Any], tasks: Sequence[dict[str, Any]]) -> Health:
    """A job's tasks run to completion: a finished job (as many tasks ``complete`` in the current
    iteration as it asks for) is Healthy; running or starting tasks are Progressing; a failed task
    of this iteration is Degraded (swarmkit restarts it per the restart policy, so it may recover).
    Sources: swarmkit manager/orchestrator/jobs (replicated/reconciler.go counts ``complete`` tasks
    of ``JobStatus.JobIteration``), manager/controlapi/service.go (``JobIteration`` per update)."""
    iteration = ((service.get("JobStatus") or {}).get("JobIteration") or {}).get("Index")
    if iteration is not None:
        tasks = [t for t in tasks if ((t.get("JobIteration") or {}).get("Index")) == iteration]
    job = ((service.get("Spec") or {}).get("Mode") or {}).get("ReplicatedJob")
    # A global job: one completion per node that has had a task of this iteration.
    wanted = int(job.get("TotalCompletions", 1)) if job is not None else len({t.get("NodeID") for t in tasks})
    done = [t for t in tasks if _state(t) == "complete"]
    counts = f"{len(done)}/{wanted} completed"
    if len(done) >= wanted:
        return Health(HealthState.HEALTHY, counts)
    unschedulable = [t for t in tasks if _state(t) in _STARTING and _err(t)]
    return _degraded(counts, unschedulable, tasks, "of this run failed") or Health(
        HealthState.PROGRESSING, f"{counts}; the job is running"
    )


def _degraded(
    counts: str, unschedulable: Sequence[dict[str, Any]], tasks: Sequence[dict[str, Any]], failed: str
) -> Health | None:
    """Degraded by the first task no node can take, else by the last of ``tasks`` that failed
    (``failed`` says which tasks were counted); None when neither."""
    if unschedulable:
        return Health(HealthState.DEGRADED, f"{counts}; a task is {_state(unschedulable[0])}: {_err(unschedulable[0])}")
    failures = sorted((t for t in tasks if _state(t) in _FAILED), key=_stamp)
    if not failures:
        return None
    last = failures[-1]
    why = _err(last) or (last.get("Status") or {}).get("Message") or _state(last)
    return Health(HealthState.DEGRADED, f"{counts}; {len(failures)} task(s) {failed}: {why}")


def network_health(network: dict[str, Any], now: float) -> Health:
    """``now``: Unix seconds when the swarm was observed."""
    if network.get("Driver"):
        return HEALTHY
    created = parse_time(network.get("Created"))
    age = now - created.timestamp() if created else 0.0
    if age > ALLOCATION_GRACE_S:
        return Health(HealthState.DEGRADED, f"the swarm has not allocated it after {age:.0f}s "
                      "(an overlapping subnet, or an option this engine cannot allocate)")  # fmt: skip
    return Health(HealthState.PROGRESSING, "being allocated by the swarm")


def _wanted(service: dict[str, Any], current: Sequence[dict[str, Any]], recent: Sequence[dict[str, Any]]) -> int:
    mode = (service.get("Spec") or {}).get("Mode") or {}
    if "Global" in mode:
        # One task per eligible node: every node that has had a task since the last update (a
        # rejected task leaves none current until the restart delay has passed).
        return len({t.get("NodeID") for t in [*current, *recent]})
    return int((mode.get("Replicated") or {}).get("Replicas", 1))


def _state(task: dict[str, Any]) -> str:
    return str((task.get("Status") or {}).get("State", ""))


def _err(task: dict[str, Any]) -> str:
    return str((task.get("Status") or {}).get("Err") or "")


def _stamp(task: dict[str, Any]) -> str:
    return str((task.get("Status") or {}).get("Timestamp") or "")


def parse_time(text: str | None) -> dt.datetime | None:
    """RFC 3339 with up to nanoseconds (Go's format) → an aware datetime; None when absent or bad."""
    match = _RFC3339.match(text or "")
    if not match:
        return None
    zone = "+00:00" if match["zone"] in ("Z", "z") else match["zone"]
    try:
        return dt.datetime.fromisoformat(f"{match['base']}.{(match['fraction'] or '0')[:6]}{zone}")
    except ValueError:
        return None
