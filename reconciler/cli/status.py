"""``reconciler status [PATH]``: every managed object, whether it matches the manifests (sync) and
whether it works (health). Exit 0 in sync and healthy, 1 not (something to create, change, prune,
blocked, or a service whose tasks do not run), 2 error."""

from __future__ import annotations

import json
from typing import Any

import click

from reconciler.cli.context import EXIT_OK, EXIT_PROBLEMS, settings


def _from_controller(ctx: click.Context, url: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    import urllib.request  # here: only `status --controller` speaks HTTP

    from reconciler.cli.failing import fail

    try:
        with urllib.request.urlopen(url.rstrip("/") + "/status", timeout=10) as answer:
            report: dict[str, Any] = json.load(answer)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or exc  # urllib's URLError wraps the socket's error
        reason = getattr(reason, "strerror", None) or reason
        fail(ctx, f"error: cannot read {url.rstrip('/')}/status ({reason}): check the URL, and that "
                  "`reconciler run` listens there (--listen)")  # fmt: skip
    return list(report.get("objects", [])), report


def _ok(row: dict[str, Any]) -> bool:
    """In sync (or an old version kept for rollback) and healthy (or without a health of its own)."""
    from reconciler.state.health import HealthState
    from reconciler.state.plan import ObjectState

    settled = row["state"] in {s.value for s in ObjectState if s.settled}
    return settled and row.get("health") in (None, HealthState.HEALTHY.value)


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--controller", metavar="URL", help="Ask a running controller (e.g. http://127.0.0.1:9100) instead.")
@click.pass_context
def status(ctx: click.Context, path: str, controller: str | None) -> None:
    """List what is managed, whether it is in sync with the manifests under PATH, and whether it is healthy.

    Exit 0 only when every object is in sync and healthy."""
    from reconciler.cli.engine_read import EngineRead  # the standard library only

    # First, so that the engine answers while the rest is imported and the manifests load.
    docker_host = settings(ctx).docker_host
    read = None if controller else EngineRead.start(path, docker_host)  # --controller asks no engine
    # Here, not at the top: `status --help` needs none of the engine, the models, the docker SDK or rich.
    from rich.table import Table

    from reconciler.cli.session import planned_or_exit
    from reconciler.cli.views import out_console, print_json
    from reconciler.engine.planning import PlanOptions
    from reconciler.engine.status import object_statuses
    from reconciler.state.health import HealthState
    from reconciler.state.plan import ObjectState

    conf = settings(ctx)
    report: dict[str, Any] = {}
    if read is None:  # --controller
        rows, report = _from_controller(ctx, str(controller))
    else:
        # An empty folder is no danger here (it lists what is managed, and exits 1): allowed.
        plan = planned_or_exit(ctx, path, conf, PlanOptions(), read, allow_empty=True).plan
        rows = [o.as_json() for o in object_statuses(plan)]
    ok = all(_ok(row) for row in rows)
    in_sync = all(row["state"] in {s.value for s in ObjectState if s.settled} for row in rows)
    if conf.output == "json":
        print_json(
            {
                **{k: v for k, v in report.items() if k != "objects"},
                "instance": report.get("instance", conf.instance),
                "in_sync": in_sync,
                "healthy": all(row.get("health") in (None, HealthState.HEALTHY.value) for row in rows),
                "objects": rows,
            }
        )
    else:
        table = Table("OBJECT", "SWARM NAME", "STATE", "HEALTH", "WHY", box=None, pad_edge=False)
        for row in rows:
            why = [row.get("reason", "")] if row["state"] != ObjectState.IN_SYNC.value else []
            if row.get("health") not in (None, HealthState.HEALTHY.value) and row.get("health_reason"):
                why.append(row["health_reason"])
            table.add_row(row["key"], row.get("swarm_name", ""), row["state"], row.get("health") or "-",
                          "; ".join(w for w in why if w), style=None if _ok(row) else "yellow")  # fmt: skip
        console = out_console()
        console.print(table)
        if report:
            error = report.get("last_error")
            said = report.get("leader")
            leader = "yes" if said is True else "no" if said is False else "unknown"
            console.print(f"controller: revision {report.get('revision')}, leader {leader}"
                          + (f", last error ({error['stage']}): {error['message'].splitlines()[0]}" if error else ""))  # fmt: skip
        verdict = "in sync and healthy" if ok else ("NOT healthy" if in_sync else "NOT in sync")
        console.print(f"instance {report.get('instance', conf.instance)}: {verdict}")
    ctx.exit(EXIT_OK if ok else EXIT_PROBLEMS)
