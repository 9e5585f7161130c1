"""``reconciler diff [PATH]``: plan against the live swarm and print it.
Exit 0 no differences, 1 differences, 2 error."""

from __future__ import annotations

import click

from reconciler.cli.context import EXIT_OK, EXIT_PROBLEMS, settings


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--prune", is_flag=True, help="Show what `apply --prune` would delete.")
@click.option("--adopt", is_flag=True, help="Show unmanaged objects of the same name as adopted.")
@click.option("--all", "show_all", is_flag=True, help="Also list objects that are in sync.")
@click.option("--allow-empty", is_flag=True, help="Accept a folder without manifests (else an error, exit 2).")
@click.pass_context
def diff(ctx: click.Context, path: str, prune: bool, adopt: bool, show_all: bool, allow_empty: bool) -> None:
    """Show how the swarm differs from the manifests under PATH."""
    from reconciler.cli.engine_read import EngineRead  # the standard library only

    # First, so that the engine answers while the rest is imported and the manifests load.
    read = EngineRead.start(path, settings(ctx).docker_host)
    # Here, not at the top: `diff --help` needs none of the engine, the models or the docker SDK.
    from reconciler.cli.plan_view import print_plan
    from reconciler.cli.session import planned_or_exit
    from reconciler.cli.styled import out_out
    from reconciler.cli.views import print_json
    from reconciler.engine.planning import PlanOptions

    conf = settings(ctx)
    options = PlanOptions(prune=prune, adopt=adopt, allow_empty=allow_empty)
    plan = planned_or_exit(ctx, path, conf, options, read, allow_empty=allow_empty).plan
    if conf.output == "json":
        print_json(plan.as_json())
    else:
        print_plan(out_out(), plan, show_noop=show_all)
    ctx.exit(EXIT_OK if plan.in_sync else EXIT_PROBLEMS)
