"""The ``reconciler`` click group: global options, then one thin module per command.

Commands are imported only when they run (click's lazy-group pattern): ``reconciler --help`` or
``validate`` need neither the docker SDK nor the controller's HTTP stack, so a process starts in a
fraction of the time. Their one-line help lives here, beside their import path.
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import sys
from collections.abc import Mapping
from typing import Any, NoReturn

import click

from reconciler import __version__
from reconciler.cli.context import EXIT_ERROR, Settings
from reconciler.cli.global_options import OUTPUT_CHOICES, add_global_options

__all__ = ["LazyGroup", "cli", "main"]

# name → (module, attribute, one-line help shown by ``reconciler --help``)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("reconciler.cli.validate", "validate", "Check the manifests under PATH, offline."),
    "diff": ("reconciler.cli.diff", "diff", "Show what apply would change, field by field."),
    "apply": ("reconciler.cli.apply", "apply", "Converge the swarm once to the manifests under PATH."),
    "status": ("reconciler.cli.status", "status", "Every managed object: in sync? healthy?"),
    "run": ("reconciler.cli.run", "run", "Run the controller: converge continuously."),
    "render": ("reconciler.cli.render", "render", "Show what one manifest becomes in Swarm."),
    "schema": ("reconciler.cli.schema", "schema", "Print or write the JSON schema of every kind."),
    "doctor": ("reconciler.cli.doctor", "doctor", "Check the engine, the swarm and the proxy's permissions."),
    "import": ("reconciler.cli.imports", "import_group", "Turn compose files or a live swarm into manifests."),
}


class LazyGroup(click.Group):
    """A group whose subcommands, listed in ``lazy`` (name → module, attribute, one-line help), are
    imported on first use; each gets the global options (``reconciler.cli.global_options``)."""

    def __init__(self, *args: Any, lazy: Mapping[str, tuple[str, str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*self.lazy, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy:
            return super().get_command(ctx, cmd_name)
        module, attribute, _ = self.lazy[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{attribute} is not a click command")
        return add_global_options(command)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, _, help_text) in self.lazy.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="reconciler")
@click.option(
    "--docker-host",
    default=lambda: os.environ.get("DOCKER_HOST"),
    help="Engine or socket-proxy address (default: $DOCKER_HOST, then the local socket).",
)
@click.option("--instance", default="reconciler", show_default=True, help="Owner name written in managed-by labels.")
@click.option("-o", "--output", type=click.Choice(OUTPUT_CHOICES), default="text", show_default=True,
              help="Output format: text, or json for scripts.")  # fmt: skip
@click.pass_context
def cli(ctx: click.Context, docker_host: str | None, instance: str, output: str) -> None:
    """Reconcile a Docker Swarm with the manifests in a folder."""
    ctx.obj = Settings(docker_host=docker_host or None, instance=instance, output=output)


def _json_requested(args: list[str]) -> bool:
    """``-o json`` anywhere on the command line (before or after the command), read without click:
    a usage error stops click before the option is processed."""
    for index, arg in enumerate(args):
        if arg in ("-o", "--output") and args[index + 1 : index + 2] == ["json"]:
            return True
        if arg in ("-ojson", "--output=json"):
            return True
    return False


def _error(message: str, as_json: bool) -> NoReturn:
    """Every error ``main`` ends with: one line on stderr, and with ``-o json`` one JSON document on
    stdout (``{"error": ..., "exit_code": 2}``, as ``views.print_error`` writes for a command's own)."""
    if as_json:
        click.echo(json.dumps({"error": message, "exit_code": EXIT_ERROR}, indent=2, sort_keys=True))
    click.echo(f"reconciler: {message}", err=True)
    raise SystemExit(EXIT_ERROR)


def main() -> None:
    # A command is a short process: Python's cycle collector spent ~30 ms of a 50-service diff (10%)
    # walking the objects imports and models create, nearly all alive until exit, to find almost no
    # garbage (reference counting frees the rest; a 5,000-service validate peaks 0.6 MB higher without
    # it). Off for the process; ``run``, which lives on, turns it back on. At the end, every object is
    # frozen: the interpreter's last collection at exit would walk them all again (~30 ms) for memory
    # the process gives back anyway; the rest of the shutdown (atexit, flushing) is as before (issue 18).
    gc.disable()
    try:
        _run_command()
    finally:
        gc.freeze()


def _run_command() -> NoReturn:
    as_json = _json_requested(sys.argv[1:])
    try:
        # Not standalone: a usage error becomes one line here instead of click's usage block.
        code = cli.main(prog_name="reconciler", standalone_mode=False)
    except click.UsageError as exc:  # a bad flag, argument or value: the thing, and where help is
        if type(exc).__name__ == "NoArgsIsHelpError":  # bare `reconciler`: the help itself, as click shows it
            exc.show()
            raise SystemExit(exc.exit_code) from None
        where = exc.ctx.command_path if exc.ctx is not None else "reconciler"
        _error(f"{exc.format_message().rstrip('.')}: see '{where} --help'", as_json)
    except click.ClickException as exc:
        if as_json:
            _error(exc.format_message(), as_json)
        exc.show()
        raise SystemExit(exc.exit_code) from None
    except (click.Abort, KeyboardInterrupt):
        _error("interrupted", as_json)
    except Exception as exc:  # a bug or an unexpected environment: never exit 1, which means "invalid"
        try:
            _error(f"internal error: {type(exc).__name__}: {exc}", as_json)
        except SystemExit as stop:
            raise stop from exc
    raise SystemExit(code if isinstance(code, int) else 0)
