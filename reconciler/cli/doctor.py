"""``reconciler doctor``: engine reachable, API version, swarm active, manager role, and every
socket-proxy permission the reconciler needs. Exit 0 ok, 1 problems."""

from __future__ import annotations

import click

from reconciler.cli.context import EXIT_OK, EXIT_PROBLEMS, settings


@click.command()
@click.pass_context
def doctor(ctx: click.Context) -> None:
    """Check that the reconciler can do its job against --docker-host."""
    # Here, not at the top: `doctor --help` needs neither the docker SDK nor rich.
    from rich.text import Text

    from reconciler.cli.views import out_console, print_json
    from reconciler.swarm.docker_api import connect
    from reconciler.swarm.port import Forbidden, SwarmError
    from reconciler.swarm.probes import Check, run_checks

    conf = settings(ctx)
    try:
        swarm = connect(conf.docker_host)
        checks = run_checks(swarm)
        swarm.close()
    except Forbidden as exc:  # the proxy answered, and refused the version negotiation
        checks = [Check("engine reachable", True, "the socket proxy answers"), Check("API version", False, str(exc))]
    except SwarmError as exc:
        checks = [Check("engine reachable", False, str(exc))]
    ok = all(c.ok for c in checks)
    if conf.output == "json":
        print_json({"ok": ok, "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks]})
    else:
        console = out_console()
        for check in checks:
            line = Text("  ok  " if check.ok else "FAIL  ", style="green" if check.ok else "bold red")
            line.append(f"{check.name}: {check.detail}")
            console.print(line)
        console.print("all checks passed" if ok else "some checks failed", style="bold green" if ok else "bold red")
    ctx.exit(EXIT_OK if ok else EXIT_PROBLEMS)
