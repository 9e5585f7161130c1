"""``reconciler import``: the group of importers (``swarm``: a live swarm; ``compose`` joins it),
each imported only when it runs, like the top-level commands (``cli.app``)."""

from __future__ import annotations

import importlib

import click

from reconciler.cli.global_options import add_global_options

__all__ = ["import_group"]

# name → (module, attribute, one-line help)
IMPORTERS: dict[str, tuple[str, str, str]] = {
    "swarm": ("reconciler.cli.import_swarm", "swarm", "Live services, networks, configs, secrets to manifests."),
    "compose": (
        "reconciler.cli.import_compose",
        "compose",
        "Compose files (as docker stack deploy reads them) to manifests.",
    ),
}


class _LazyImporters(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*IMPORTERS, *super().list_commands(ctx)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in IMPORTERS:
            return super().get_command(ctx, cmd_name)
        module, attribute, _ = IMPORTERS[cmd_name]
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{attribute} is not a click command")
        return add_global_options(command)  # `import swarm --docker-host X` as `diff --docker-host X`

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_, _, help_text) in IMPORTERS.items()])


@click.group("import", cls=_LazyImporters)
def import_group() -> None:
    """Turn what runs now (compose files, a live swarm) into manifests."""
