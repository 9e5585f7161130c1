"""A ``Plan`` → the swarm, in the plan's order, independent changes several at a time; never re-diffs.

What the plan cannot know is settled here: IDs of configs and secrets created moments ago, the
server-side fields a service update must carry over (so that a label-only change does not restart
tasks), whether an old config is still in use, and whether a dependency's tasks are running yet.
One failure skips only the changes that depend on it. Independent changes are written ``workers``
(default 8) at a time, each after what it depends on (``engine.scheduling``): a cold apply of many
services is bound by the engine's write latency, not by one request after another. Called by
``reconcile_once``.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from reconciler.core.keys import ResourceKey
from reconciler.core.swarm_names import scoped
from reconciler.engine.errors import ReconcileError, TransientError, classify
from reconciler.engine.events import (
    ChangeFinished,
    ChangeStarted,
    Event,
    EventSink,
    OutcomeStatus,
    Waiting,
    discard,
)
from reconciler.engine.scheduling import DEFAULT_WORKERS, run_in_order
from reconciler.state.desired import DesiredObject
from reconciler.state.essence import service_essence
from reconciler.state.health import service_health
from reconciler.state.observed import ObservedObject, ObservedState
from reconciler.state.plan import Action, Change, CreatePayload, DeletePayload, Plan, RouteLabelsPayload, UpdatePayload
from reconciler.state.stored_form import CONTAINER_SERVER_FIELDS, TASK_SERVER_FIELDS, is_job
from reconciler.swarm.port import EngineUnavailable, InUse, NotFound, SwarmError, SwarmPort, VersionConflict

__all__ = ["Applier", "ApplyInterrupted", "ApplyResult", "Outcome"]

ALLOCATION_WAIT_S = 10.0  # seconds a new swarm network may take to be allocated during an apply
_OK = {OutcomeStatus.DONE, OutcomeStatus.NOOP, OutcomeStatus.KEPT}


@dataclass(frozen=True)
class Outcome:
    change: Change
    status: OutcomeStatus
    message: str = ""
    error: ReconcileError | None = None  # why it failed or was skipped, as a type the controller acts on


@dataclass(frozen=True)
class ApplyResult:
    outcomes: tuple[Outcome, ...] = ()

    @property
    def ok(self) -> bool:
        return all(o.status in _OK for o in self.outcomes)

    @property
    def needs_retry(self) -> bool:
        return any(o.status is OutcomeStatus.RETRY for o in self.outcomes)

    @property
    def errors(self) -> list[ReconcileError]:
        return [o.error for o in self.outcomes if o.error is not None]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for outcome in self.outcomes:
            out[outcome.status.value] = out.get(outcome.status.value, 0) + 1
        return out


class ApplyInterrupted(EngineUnavailable):
    """The engine stopped answering during an apply. ``applied`` holds the outcomes so far: the changes
    done before are in the swarm (and must be counted), the interrupted one is FAILED (the engine may or
    may not have made it), the later ones were not tried. ``cause`` is the adapter's own error."""

    def __init__(self, cause: EngineUnavailable, applied: ApplyResult) -> None:
        super().__init__(str(cause), cause.status)
        self.cause = cause
        self.applied = applied


class NotAllowedToWrite(Exception):
    """The guard said no (a controller that lost its lease): stop before the next write."""


class _Failed(Exception):
    def __init__(self, status: OutcomeStatus, message: str, error: ReconcileError | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


@dataclass
class Applier:
    swarm: SwarmPort
    observed: ObservedState
    on_event: EventSink = discard
    dependency_timeout: float = 120.0
    poll_interval: float = 0.5
    clock: Callable[[], float] = time.monotonic
    guard: Callable[[], bool] | None = None  # asked before every write; False aborts the whole apply
    workers: int = DEFAULT_WORKERS  # changes written at once, where they are independent
    ids: dict[tuple[str, str], str] = field(init=False)
    # Changes that did not converge, with why (None: blocked or in conflict, waiting for a person or an event).
    _failed: dict[ResourceKey, ReconcileError | None] = field(init=False, default_factory=dict)
    _desired: dict[ResourceKey, DesiredObject] = field(init=False, default_factory=dict)
    _local: threading.local = field(init=False, default_factory=threading.local)

    def __post_init__(self) -> None:
        self.ids = {(o.swarm_kind, o.swarm_name): o.id for o in self.observed.objects.values()}

    def apply(self, plan: Plan) -> ApplyResult:
        """Every change, ``workers`` at a time where they are independent (``engine.scheduling``), with
        outcomes and events in the plan's order. Raises ``ApplyInterrupted`` (with the outcomes so far)
        when the engine stops answering: nothing after that point can be written anyway."""
        changes = plan.changes
        self._desired = {c.key: c.desired for c in changes if c.desired is not None}
        positions: dict[ResourceKey, list[int]] = {}
        for index, change in enumerate(changes):
            positions.setdefault(change.key, []).append(index)

        def needs(index: int) -> list[int]:
            desired = changes[index].desired
            deps = desired.depends_on if desired is not None else ()
            return [j for dep in deps for j in positions.get(dep, ()) if j < index]

        def step(index: int, emit: EventSink) -> tuple[Outcome, EngineUnavailable | None]:
            self._local.emit = emit
            change = changes[index]
            try:
                return self._one(change), None
            except EngineUnavailable as exc:
                return self._finish(change, OutcomeStatus.FAILED, str(exc), classify(exc)), exc

        ran = run_in_order(len(changes), step, inline=lambda i: not changes[i].changes_something, needs=needs,
                           alone=lambda i: _alone(changes[i]), stop=lambda r: r[1] is not None,
                           on_event=self.on_event, workers=self.workers)  # fmt: skip
        result = ApplyResult(tuple(outcome for outcome, _ in ran))
        cause = next((exc for _, exc in ran if exc is not None), None)
        if cause is not None:
            raise ApplyInterrupted(cause, result) from cause
        return result

    def _event(self, event: Event) -> None:
        """To the sink of the step this thread runs (``run_in_order`` orders them)."""
        getattr(self._local, "emit", self.on_event)(event)

    def _one(self, change: Change) -> Outcome:
        if change.action is Action.NOOP:
            return Outcome(change, OutcomeStatus.NOOP, change.reason)
        if change.action in (Action.BLOCKED, Action.CONFLICT):
            status = OutcomeStatus.BLOCKED if change.action is Action.BLOCKED else OutcomeStatus.CONFLICT
            return self._finish(change, status, change.reason)
        if self.guard is not None and not self.guard():
            raise NotAllowedToWrite(f"not allowed to write; stopped before {change.key}")
        try:
            self._check_dependencies(change)
            self._event(ChangeStarted(change))
            message = self._execute(change)
        except _Failed as failed:
            return self._finish(change, failed.status, str(failed), failed.error)
        except VersionConflict as exc:
            return self._finish(change, OutcomeStatus.RETRY, str(exc))
        except NotFound as exc:
            if change.kind == "Service" and "network" in str(exc):
                # A network removed moments ago can still be listed while its last tasks stop; the
                # next observation no longer shows it, and plans to create it first.
                return self._finish(change, OutcomeStatus.RETRY, str(exc))
            return self._finish(change, OutcomeStatus.FAILED, str(exc), classify(exc))
        except EngineUnavailable:
            raise
        except SwarmError as exc:
            error = classify(exc)
            return self._finish(change, OutcomeStatus.FAILED, str(error), error)
        return self._finish(change, OutcomeStatus.DONE, message)

    def _finish(
        self, change: Change, status: OutcomeStatus, message: str, error: ReconcileError | None = None
    ) -> Outcome:
        if status not in _OK and status is not OutcomeStatus.RETRY:
            self._failed[change.key] = error
        self._event(ChangeFinished(change, status, message))
        return Outcome(change, status, message, error)

    # -- one change -------------------------------------------------------------------------------

    def _execute(self, change: Change) -> str:
        payload = change.payload
        if isinstance(payload, DeletePayload):
            return self._delete(payload.live, payload.rotation)
        if isinstance(payload, RouteLabelsPayload):  # route labels on a service the reconciler does not manage
            spec = {**payload.live.spec, "Labels": payload.labels}
            self.swarm.update_service(payload.live.id, payload.live.version, spec)
            return f"route labels updated ({len(change.diff)} field(s))"
        if isinstance(payload, CreatePayload):
            self._wait_for_services(payload.desired)
            return self._create(payload.desired)
        if not isinstance(payload, UpdatePayload):
            raise _Failed(OutcomeStatus.FAILED, f"the plan carries nothing to {change.action.value}")
        desired, live = payload.desired, payload.live
        self._wait_for_services(desired)
        if change.action is Action.REPLACE:
            self.swarm.remove_network(live.id)
            return "removed and " + self._create(desired)
        if desired.swarm_kind == "config":  # adoption: only the labels of a config or secret can change
            self.swarm.update_config(live.id, live.version, desired.spec)
        elif desired.swarm_kind == "secret":
            self.swarm.update_secret(live.id, live.version, desired.spec)
        elif desired.swarm_kind == "service":
            spec = _minimal_update(desired, live.spec, self.observed.network_names)
            self.swarm.update_service(live.id, live.version, self._with_ids(spec))
        else:  # the planner replaces networks: they cannot change at all
            raise _Failed(OutcomeStatus.FAILED, f"a {desired.swarm_kind} cannot be updated in place")
        return f"updated ({len(change.diff)} field(s))"

    def _check_dependencies(self, change: Change) -> None:
        desired = change.desired
        failed = [dep for dep in desired.depends_on if dep in self._failed] if desired else []
        if failed:
            message = f"not attempted: {', '.join(failed)} did not converge"
            # Retried only if what it waits for will be: a terminal or blocked dependency is reported once.
            errors = [self._failed[dep] for dep in failed]
            transient = any(error is not None and not error.terminal for error in errors)
            raise _Failed(OutcomeStatus.SKIPPED, message, TransientError(message) if transient else None)

    def _create(self, desired: DesiredObject) -> str:
        kind = desired.swarm_kind
        if kind == "network":
            new_id = self.swarm.create_network(desired.spec)
            self._wait_allocated(new_id, desired.key)
        elif kind == "config":
            new_id = self.swarm.create_config(desired.spec)
        elif kind == "secret":
            new_id = self.swarm.create_secret(desired.spec)
        else:
            new_id = self.swarm.create_service(self._with_ids(desired.spec))
        self.ids[(kind, desired.swarm_name)] = new_id
        return f"created {kind} {desired.swarm_name} ({new_id[:12]})"

    def _delete(self, live: ObservedObject, rotation: bool) -> str:
        remove = {
            "network": self.swarm.remove_network,
            "config": self.swarm.remove_config,
            "secret": self.swarm.remove_secret,
            "service": self.swarm.remove_service,
        }[live.swarm_kind]
        try:
            remove(live.id)
        except InUse as exc:
            if rotation:
                raise _Failed(OutcomeStatus.KEPT, f"kept: {live.swarm_name} is still in use") from exc
            raise
        except NotFound:
            # Gone already: a network whose tasks were still stopping stays listed for a while.
            return f"{live.swarm_kind} {live.swarm_name} was already gone"
        if live.swarm_kind == "network" and not self._wait_gone(live):
            return f"removed network {live.swarm_name} (still listed while its last tasks stop)"
        return f"removed {live.swarm_kind} {live.swarm_name}"

    def _wait_gone(self, live: ObservedObject) -> bool:
        """A removed swarm network stays listed until the tasks that used it have stopped (their
        stop grace period); a network of the same name cannot be made, nor a service attached to the
        old one, until then. Wait for it (bounded by the dependency timeout), so that the next pass or
        command starts from a swarm without it."""
        deadline = self.clock() + self.dependency_timeout
        announced = False
        while self.clock() < deadline:
            try:
                self.swarm.inspect_network(live.id)
            except NotFound:
                return True
            if not announced:
                self._event(Waiting(live.key or ResourceKey.of("network", live.swarm_name),
                                      "waiting for the engine to finish removing the network"))  # fmt: skip
                announced = True
            time.sleep(self.poll_interval)
        return False

    # -- what the plan cannot know ----------------------------------------------------------------

    def _with_ids(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Config and secret references need IDs, known only once they exist."""
        spec = copy.deepcopy(spec)
        container = spec.get("TaskTemplate", {}).get("ContainerSpec", {})
        for kind in ("Config", "Secret"):
            for ref in container.get(f"{kind}s") or []:
                found = self.ids.get((kind.lower(), ref[f"{kind}Name"]))
                if found is None:
                    raise _Failed(OutcomeStatus.FAILED, f"{kind.lower()} {ref[f'{kind}Name']} does not exist")
                ref[f"{kind}ID"] = found
        return spec

    def _wait_allocated(self, network_id: str, key: ResourceKey) -> None:
        """Right after a create, a swarm network can briefly show no driver; wait until it does. One
        the swarm cannot allocate (a subnet that overlaps another, an option this engine cannot
        allocate) stays like that for ever: after ``ALLOCATION_WAIT_S`` the change fails, and the
        network's health says Progressing, then Degraded."""
        deadline = self.clock() + ALLOCATION_WAIT_S
        while self.clock() < deadline:
            if self.swarm.inspect_network(network_id).get("Driver"):
                return
            time.sleep(0.1)
        message = (f"created, but the swarm has not allocated it after {ALLOCATION_WAIT_S:.0f}s (a subnet that "
                   "overlaps another network's, or an option this engine cannot allocate)")  # fmt: skip
        raise _Failed(OutcomeStatus.FAILED, message, TransientError(message))

    def _wait_for_services(self, desired: DesiredObject) -> None:
        for dep in desired.depends_on:
            if dep.kind != "Service":
                continue
            service_id = self.ids.get(("service", self._service_name(dep)))
            if service_id is None:
                message = f"not attempted: {dep} does not exist"
                raise _Failed(OutcomeStatus.SKIPPED, message, TransientError(message))
            self._wait_running(dep, service_id)

    def _wait_running(self, key: ResourceKey, service_id: str) -> None:
        if self._is_job(key):
            self._wait_completed(key, service_id)
            return
        deadline = self.clock() + self.dependency_timeout
        announced = False
        while True:
            wanted = self._wanted_replicas(key)
            running = [t for t in self.swarm.running_tasks(service_id) if t.get("Status", {}).get("State") == "running"]
            if len(running) >= wanted:
                return
            if self.clock() >= deadline:
                message = (
                    f"not attempted: {key} has {len(running)} of {wanted} tasks running after "
                    f"{self.dependency_timeout:.0f}s"
                )
                raise _Failed(OutcomeStatus.SKIPPED, message, TransientError(message))
            if not announced:
                self._event(Waiting(key, f"waiting for {wanted} running task(s)"))
                announced = True
            time.sleep(self.poll_interval)

    def _wait_completed(self, key: ResourceKey, service_id: str) -> None:
        """A job dependency (``mode: replicated-job``/``global-job``) is waited for until its run
        has completed (``state.health``: its tasks end ``complete``, never stay ``running``)."""
        deadline = self.clock() + self.dependency_timeout
        announced = False
        while True:
            snapshot = self.swarm.snapshot()
            service = next((s for s in snapshot.services if s.get("ID") == service_id), None)
            tasks = [t for t in snapshot.tasks if t.get("ServiceID") == service_id]
            health = service_health(service, tasks) if service is not None else None
            if health is not None and health.healthy:
                return
            if self.clock() >= deadline:
                why = health.reason if health is not None else "it is gone"
                message = f"not attempted: {key}, a job, has not completed after {self.dependency_timeout:.0f}s ({why})"
                raise _Failed(OutcomeStatus.SKIPPED, message, TransientError(message))
            if not announced:
                self._event(Waiting(key, "waiting for the job to complete"))
                announced = True
            time.sleep(self.poll_interval)

    def _is_job(self, key: ResourceKey) -> bool:
        desired = self._desired.get(key)
        live = self.observed.find("service", self._service_name(key))
        return is_job(desired.spec if desired else (live.spec if live else {}))

    def _service_name(self, key: ResourceKey) -> str:
        """The Swarm name of a Service manifest key (``<namespace>_<name>`` in a namespace)."""
        desired = self._desired.get(key)
        return desired.swarm_name if desired is not None else scoped(key.namespace, key.name)

    def _wanted_replicas(self, key: ResourceKey) -> int:
        desired = self._desired.get(key)
        live = self.observed.find("service", self._service_name(key))
        spec = desired.spec if desired else (live.spec if live else {})
        mode = spec.get("Mode") or {}
        if "Global" in mode:
            return 1
        return int((mode.get("Replicated") or {}).get("Replicas", 1))


def _alone(change: Change) -> bool:
    """Changes that overlap no other: deletions of what services use (a config still named by a
    service being removed, a network whose tasks are stopping), a network replace, route labels
    on a service the reconciler does not manage. Creates, updates and service removals overlap."""
    payload = change.payload
    if isinstance(payload, DeletePayload):
        return payload.live.swarm_kind != "service"
    return change.action is Action.REPLACE or not isinstance(payload, CreatePayload | UpdatePayload)


# Sections of a ServiceSpec that an update sends whole; swarmkit restarts tasks when TaskTemplate
# (or the published ports) change in any way, even one the essence does not see.
_SECTIONS = ("TaskTemplate", "EndpointSpec", "Mode", "UpdateConfig", "RollbackConfig")


def _minimal_update(desired: DesiredObject, live: dict[str, Any], network_names: dict[str, str]) -> dict[str, Any]:
    """The spec to send: the desired one, except that every section whose essence already matches is
    sent exactly as the engine stores it (re-sorted mounts, the CLI's ``Init: false`` and empty
    resources, a digest pin), so a label-only change, a repair or an adoption restarts no task."""
    spec = _carry_server_fields(desired.spec, live)
    wanted = desired.essence  # compiled once with the desired state
    for section in _SECTIONS:
        if section not in live:
            continue
        mixed = {**spec, section: copy.deepcopy(live[section])}
        if service_essence(mixed, network_names) == wanted:
            spec = mixed
    return spec


def _carry_server_fields(desired: dict[str, Any], live: dict[str, Any]) -> dict[str, Any]:
    """Keep what the engine set itself, so an update changes only what the manifest changed (a task
    template that differs only in these would otherwise restart every task)."""
    spec = copy.deepcopy(desired)
    task, live_task = spec.setdefault("TaskTemplate", {}), live.get("TaskTemplate") or {}
    for key in TASK_SERVER_FIELDS:
        if key in live_task:
            task.setdefault(key, live_task[key])
    container, live_container = task.setdefault("ContainerSpec", {}), live_task.get("ContainerSpec") or {}
    for key in CONTAINER_SERVER_FIELDS:
        if key in live_container:
            container.setdefault(key, live_container[key])
    live_image = str(live_container.get("Image", ""))
    if "@sha256:" in live_image and live_image.split("@", 1)[0] == container.get("Image"):
        container["Image"] = live_image  # the same image, pinned by digest: keep the pin
    return spec
