"""What the engine commands share: load the manifests, connect to the engine, and turn failures
into the exit codes of the SPEC (2: the job could not be done at all).

``diff``, ``apply`` and ``status`` (``planned_or_exit``) connect and observe the swarm on a thread
while this one loads and compiles the manifests: the engine's answers (tens of ms, more on a swarm of
many services) arrive while the models validate, instead of after (issue 18). What is printed and
the exit codes are those of doing it in turn: the manifests' problems first, then the engine's, each
as before; an observation whose manifests turn out invalid is dropped.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import click

from reconciler.cli.context import EXIT_ERROR, Settings
from reconciler.cli.failing import fail, path_or_exit
from reconciler.cli.views import err_console, print_problems
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import observe, plan_once
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.state.desired import DesiredState, compile_desired
from reconciler.state.observed import ObservedState
from reconciler.state.plan import Plan
from reconciler.swarm.docker_api import DockerSwarm, connect
from reconciler.swarm.port import SwarmError

__all__ = ["Planned", "connect_or_exit", "desired_or_exit", "fail", "path_or_exit", "planned_or_exit"]


def load_or_exit(ctx: click.Context, path: str, settings: Settings, *, allow_empty: bool = False) -> ManifestSet:
    path_or_exit(ctx, path)
    try:
        loaded = load_manifests(path)
    except ManifestError as exc:
        print_problems(exc.problems, settings.output)
        err_console().print("Nothing was changed: an invalid manifest set is never applied.", style="red")
        ctx.exit(EXIT_ERROR)
        raise AssertionError("unreachable") from exc
    if len(loaded) == 0 and not allow_empty:
        # A mistyped path must not read as "nothing to do" (diff) or as "delete everything" (apply --prune).
        fail(ctx, f"error: no manifests (*.yaml, *.yml) found under {path}: check the path, or pass --allow-empty "
                  "if an empty set is meant")  # fmt: skip
    return loaded


def desired_or_exit(ctx: click.Context, path: str, settings: Settings, *, allow_empty: bool = False) -> DesiredState:
    desired = compile_desired(load_or_exit(ctx, path, settings, allow_empty=allow_empty), settings.instance)
    for note in desired.notes:
        err_console().print(f"note: {note}", style="dim")
    return desired


def connect_or_exit(ctx: click.Context, settings: Settings) -> DockerSwarm:
    """A client whose engine answered (``connect`` asks its API version: a ping after it would
    only ask again)."""
    try:
        swarm = connect(settings.docker_host)
    except SwarmError as exc:
        fail(ctx, f"error: {exc}")
    ctx.call_on_close(swarm.close)
    return swarm


@dataclass(frozen=True)
class Planned:
    desired: DesiredState
    swarm: DockerSwarm
    observed: ObservedState
    plan: Plan


class _Observing:
    """``connect`` then ``observe`` on a daemon thread (the process never waits for it to exit on
    an error path); what it raised is raised again by ``swarm`` or ``observed``, in the command's
    thread, where doing it in turn raised it."""

    def __init__(self, docker_host: str | None) -> None:
        self._docker_host = docker_host
        self._swarm: DockerSwarm | None = None
        self._observed: ObservedState | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="observe", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._swarm = connect(self._docker_host)
            self._observed = observe(self._swarm)
        except BaseException as exc:  # handed to the command's thread, which raises it
            self._error = exc

    def swarm(self) -> DockerSwarm:
        self._thread.join()
        if self._swarm is None:
            raise self._failure()
        return self._swarm

    def observed(self) -> ObservedState:
        self._thread.join()
        if self._observed is None:
            raise self._failure()
        return self._observed

    def _failure(self) -> BaseException:
        if self._error is None:  # pragma: no cover  (the thread sets one of the three)
            return AssertionError("the observing thread ended without a result")
        return self._error


def planned_or_exit(
    ctx: click.Context, path: str, settings: Settings, options: PlanOptions, *, allow_empty: bool = False
) -> Planned:
    """The manifests under ``path`` planned against the swarm: ``desired_or_exit``, then
    ``connect_or_exit``, then ``plan_once`` (an engine error: exit 2 with its sentence), the engine
    read while the manifests load (this module's docstring)."""
    path_or_exit(ctx, path)
    observing = _Observing(settings.docker_host)
    desired = desired_or_exit(ctx, path, settings, allow_empty=allow_empty)
    try:
        swarm = observing.swarm()
    except SwarmError as exc:
        fail(ctx, f"error: {exc}")
    ctx.call_on_close(swarm.close)
    try:
        observed, plan = plan_once(swarm, desired, options, observed=observing.observed())
    except SwarmError as exc:
        fail(ctx, f"error: {exc}")
    return Planned(desired, swarm, observed, plan)
