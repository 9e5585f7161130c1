"""``reconciler apply [PATH]``: show the plan, ask, converge once, stream progress, summarise.
Exit 0 converged, 1 some change failed or is blocked, 2 error, 4 declined at the prompt, 5 ``--dry-run``
with changes to make (the table is in ``reconciler.cli.context`` and the README)."""

from __future__ import annotations

import sys
import time

import click

from reconciler.cli.context import EXIT_DECLINED, EXIT_OK, EXIT_PENDING, EXIT_PROBLEMS, settings
from reconciler.engine.scheduling import DEFAULT_WORKERS, MAX_WORKERS  # the standard library only


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--prune", is_flag=True, help="Delete managed objects that are no longer in the manifests.")
@click.option("--dry-run", is_flag=True, help="Show the plan only.")
@click.option("--adopt", is_flag=True, help="Take over unmanaged objects that have a manifest's name.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@click.option("--allow-empty", is_flag=True, help="Accept a folder without manifests, and prune from it.")
@click.option("--max-prune", type=click.IntRange(min=0), default=10, show_default=True, help="Most deletions per run.")
@click.option("--timeout", type=click.FloatRange(min=0), default=120.0, show_default=True,
              help="Seconds to wait for a dependency's tasks to run, and for a rollout to become healthy.")  # fmt: skip
@click.option("--apply-workers", type=click.IntRange(1, MAX_WORKERS), default=DEFAULT_WORKERS, show_default=True,
              help="Changes written at once where independent, in dependency order.")  # fmt: skip
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait until the services it changed are healthy; a rollout that is not (rolled back, "
              "no node fits, tasks failing) is a failed change.")  # fmt: skip
@click.pass_context
def apply(
    ctx: click.Context,
    path: str,
    prune: bool,
    dry_run: bool,
    adopt: bool,
    yes: bool,
    allow_empty: bool,
    max_prune: int,
    timeout: float,
    apply_workers: int,
    wait: bool,
) -> None:
    """Converge the swarm once to the manifests under PATH."""
    from reconciler.cli.engine_read import EngineRead  # the standard library only

    # First, so that the engine answers while the rest is imported and the manifests load.
    read = EngineRead.start(path, settings(ctx).docker_host)
    # Here, not at the top: `apply --help` needs none of the engine, the models or the docker SDK.
    from reconciler.cli.plan_view import EventPrinter, print_plan, print_summary, result_json
    from reconciler.cli.session import fail, planned_or_exit
    from reconciler.cli.styled import err_out, out_out
    from reconciler.cli.views import print_json
    from reconciler.engine.events import OutcomeStatus, discard
    from reconciler.engine.planning import PlanOptions
    from reconciler.swarm.port import SwarmError

    conf = settings(ctx)
    options = PlanOptions(prune=prune, adopt=adopt, allow_empty=allow_empty, max_prune=max_prune)
    planned = planned_or_exit(ctx, path, conf, options, read, allow_empty=allow_empty)
    swarm, observed, plan, desired = planned.swarm, planned.observed, planned.plan, planned.desired
    as_json = conf.output == "json"
    out = err_out() if as_json else out_out()
    try:
        if not as_json:
            print_plan(out, plan)
        pending = any(c.changes_something for c in plan.changes)
        if dry_run or not pending:
            if as_json:
                print_json(result_json(plan, None))
            if dry_run and pending:
                ctx.exit(EXIT_PENDING)
            ctx.exit(EXIT_OK if plan.in_sync else EXIT_PROBLEMS)
        if not yes:
            if not sys.stdin.isatty():
                fail(ctx, "Not on a terminal: pass --yes to apply without confirmation.")
            if not click.confirm("Apply these changes?", err=as_json):
                fail(ctx, "Declined: nothing was changed.", EXIT_DECLINED)
        # Only now: a plan with nothing to do (or a dry run) ends above without applying's modules.
        from reconciler.engine.reconcile import apply_confirmed
        from reconciler.engine.rollout import wait_for_rollout

        sink = discard if as_json else EventPrinter(out)
        written_at = time.time()
        result = apply_confirmed(swarm, desired, options, observed, plan, sink, timeout, apply_workers)
        services = {
            o.change.key: o.change.swarm_name
            for o in result.applied.outcomes
            if o.status is OutcomeStatus.DONE
            and o.change.desired is not None
            and o.change.desired.swarm_kind == "service"
        }
        rollouts = wait_for_rollout(swarm, services, written_at, timeout, sink) if wait and services else []
    except SwarmError as exc:
        fail(ctx, f"error: {exc}")
    if as_json:
        print_json(result_json(plan, result.applied, result.not_converging, rollouts))
    else:
        print_summary(out, result.applied, result.not_converging, rollouts)
    ok = result.converged and all(r.ok for r in rollouts)
    ctx.exit(EXIT_OK if ok else EXIT_PROBLEMS)
