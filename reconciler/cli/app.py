"""The ``reconciler`` click group: global options, then one thin module per command."""

from __future__ import annotations

import os

import click

from reconciler import __version__
from reconciler.cli.apply import apply
from reconciler.cli.context import EXIT_ERROR, Settings
from reconciler.cli.diff import diff
from reconciler.cli.doctor import doctor
from reconciler.cli.render import render
from reconciler.cli.run import run
from reconciler.cli.schema import schema
from reconciler.cli.status import status
from reconciler.cli.validate import validate

__all__ = ["cli", "main"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--docker-host",
    default=lambda: os.environ.get("DOCKER_HOST"),
    help="Engine or socket-proxy address (default: $DOCKER_HOST, then the local socket).",
)
@click.option("--instance", default="reconciler", show_default=True, help="Owner name written in managed-by labels.")
@click.option("-o", "--output", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.pass_context
def cli(ctx: click.Context, docker_host: str | None, instance: str, output: str) -> None:
    """Reconcile a Docker Swarm with the manifests in a folder."""
    ctx.obj = Settings(docker_host=docker_host or None, instance=instance, output=output)


for command in (validate, diff, apply, status, run, render, schema, doctor):
    cli.add_command(command)


def main() -> None:
    try:
        cli.main(prog_name="reconciler")
    except KeyboardInterrupt:
        raise SystemExit(EXIT_ERROR) from None
    except Exception as exc:  # a bug or an unexpected environment: never exit 1, which means "invalid"
        click.echo(f"reconciler: internal error: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(EXIT_ERROR) from exc
