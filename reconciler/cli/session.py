"""What the engine commands share: load the manifests, connect to the engine, and turn failures
into the exit codes of the SPEC (2: the job could not be done at all)."""

from __future__ import annotations

import click

from reconciler.cli.context import EXIT_ERROR, Settings
from reconciler.cli.failing import fail, path_or_exit
from reconciler.cli.views import err_console, print_problems
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.state.desired import DesiredState, compile_desired
from reconciler.swarm.docker_api import DockerSwarm, connect
from reconciler.swarm.port import SwarmError

__all__ = ["connect_or_exit", "desired_or_exit", "fail", "path_or_exit"]


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
    try:
        swarm = connect(settings.docker_host)
        swarm.ping()
    except SwarmError as exc:
        fail(ctx, f"error: {exc}")
    ctx.call_on_close(swarm.close)
    return swarm
