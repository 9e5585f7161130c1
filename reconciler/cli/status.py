"""``reconciler status [PATH]``: every managed object and whether it matches the manifests.
Exit 0 in sync, 1 not (something to create, change, prune, or blocked), 2 error."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import click
from rich.table import Table

from reconciler.cli.context import EXIT_OK, EXIT_PROBLEMS, settings
from reconciler.cli.session import connect_or_exit, desired_or_exit, fail
from reconciler.cli.views import out_console, print_json
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once
from reconciler.engine.status import object_statuses
from reconciler.swarm.port import SwarmError


def _from_controller(ctx: click.Context, url: str) -> tuple[list[tuple[str, str, str, str]], dict[str, Any]]:
    try:
        with urllib.request.urlopen(url.rstrip("/") + "/status", timeout=10) as answer:
            report: dict[str, Any] = json.load(answer)
    except (OSError, ValueError) as exc:
        fail(ctx, f"error: cannot read {url}/status: {exc}")
    rows = [(o["key"], o.get("swarm_name", ""), o["state"], o.get("reason", "")) for o in report.get("objects", [])]
    return rows, report


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--controller", metavar="URL", help="Ask a running controller (e.g. http://127.0.0.1:9100) instead.")
@click.pass_context
def status(ctx: click.Context, path: str, controller: str | None) -> None:
    """List what is managed and whether it is in sync with the manifests under PATH."""
    conf = settings(ctx)
    report: dict[str, Any] = {}
    if controller:
        rows, report = _from_controller(ctx, controller)
    else:
        desired = desired_or_exit(ctx, path, conf)
        swarm = connect_or_exit(ctx, conf)
        try:
            _, plan = plan_once(swarm, desired, PlanOptions())
        except SwarmError as exc:
            fail(ctx, f"error: {exc}")
        rows = [(str(o.key), o.swarm_name, o.state.value, o.reason) for o in object_statuses(plan)]
    in_sync = all(state == "in sync" for _, _, state, _ in rows)
    if conf.output == "json":
        print_json(
            {
                **{k: v for k, v in report.items() if k != "objects"},
                "instance": report.get("instance", conf.instance),
                "in_sync": in_sync,
                "objects": [{"key": k, "swarm_name": n, "state": s, "reason": r} for k, n, s, r in rows],
            }
        )
    else:
        table = Table("OBJECT", "SWARM NAME", "STATE", "WHY", box=None, pad_edge=False)
        for key, name, state, reason in rows:
            table.add_row(
                key, name, state, "" if state == "in sync" else reason, style=None if state == "in sync" else "yellow"
            )
        console = out_console()
        console.print(table)
        if report:
            error = report.get("last_error")
            console.print(f"controller: revision {report.get('revision')}, leader {report.get('leader')}"
                          + (f", last error ({error['stage']}): {error['message'].splitlines()[0]}" if error else ""))  # fmt: skip
        console.print(f"instance {report.get('instance', conf.instance)}: " + ("in sync" if in_sync else "NOT in sync"))
    ctx.exit(EXIT_OK if in_sync else EXIT_PROBLEMS)
