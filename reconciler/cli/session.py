"""What the engine commands share: load the manifests, connect to the engine, and turn failures
into the exit codes of the SPEC (2: the job could not be done at all). ``diff``, ``apply`` and
``status`` read the engine on a thread meanwhile (``cli.engine_read``, ``planned_or_exit``)."""

from __future__ import annotations

from dataclasses import dataclass

import click

from reconciler.cli.context import EXIT_ERROR, Settings
from reconciler.cli.engine_read import EngineRead
from reconciler.cli.failing import fail, path_or_exit
from reconciler.cli.views import err_console, print_problems
from reconciler.engine.observe_plan import plan_once
from reconciler.engine.planning import PlanOptions
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.state.desired import DesiredState, compile_desired
from reconciler.state.observed import ObservedState, observe_snapshot
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


def planned_or_exit(
    ctx: click.Context,
    path: str,
    settings: Settings,
    options: PlanOptions,
    read: EngineRead,
    *,
    allow_empty: bool = False,
) -> Planned:
    """The manifests under ``path`` planned against the swarm ``read`` (started by the command):
    ``desired_or_exit``, then ``connect_or_exit``, then ``plan_once`` (an engine error: exit 2 with its
    sentence), as in turn (``cli.engine_read``)."""
    desired = desired_or_exit(ctx, path, settings, allow_empty=allow_empty)
    try:
        swarm, snapshot = read.result()
    except SwarmError as exc:
        fail(ctx, f"error: {exc}")
    ctx.call_on_close(swarm.close)
    try:
        observed = observe_snapshot(snapshot)
        _, plan = plan_once(swarm, desired, options, observed=observed)
    except SwarmError as exc:
        fail(ctx, f"error: {exc}")
    return Planned(desired, swarm, observed, plan)
