"""The global options (``-o``, ``--docker-host``, ``--instance``) accepted after the subcommand too.

``reconciler -o json status`` and ``reconciler status -o json`` mean the same: people type options where
they think of them, as with kubectl. Each subcommand gets copies of the group's options that default to
"not given" and, when given, replace the value the group set on the context's ``Settings``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from reconciler.cli.context import Settings, settings

__all__ = ["OUTPUT_CHOICES", "add_global_options"]

OUTPUT_CHOICES = ("text", "json")

#: (parameter declarations, Settings field, click type, help)
_OPTIONS: tuple[tuple[tuple[str, ...], str, Any, str], ...] = (
    (("-o", "--output"), "output", click.Choice(OUTPUT_CHOICES), "Output format: text or json (also before the command)."),
    (("--docker-host",), "docker_host", None, "Engine or socket-proxy address (also before the command)."),
    (("--instance",), "instance", None, "Owner name written in managed-by labels (also before the command)."),
)  # fmt: skip


def _override(field: str) -> Any:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is not None:
            ctx.obj = dataclasses.replace(settings(ctx), **{field: value})

    return callback


def add_global_options(command: click.Command) -> click.Command:
    """Give ``command`` the global options (once); they are processed before its own (``is_eager``)."""
    names = {name for param in command.params for name in param.opts}
    for decls, field, kind, help_text in _OPTIONS:
        if names.isdisjoint(decls):
            command.params.append(
                click.Option(
                    [*decls, field + "_override"],
                    type=kind,
                    default=None,
                    expose_value=False,
                    is_eager=True,
                    callback=_override(field),
                    help=help_text,
                )
            )
    return command


def _check() -> None:  # keep Settings and the table in step (a renamed field fails the import-time check)
    fields = {f.name for f in dataclasses.fields(Settings)}
    missing = [field for _, field, _, _ in _OPTIONS if field not in fields]
    if missing:
        raise TypeError(f"Settings has no field {missing}")


_check()
