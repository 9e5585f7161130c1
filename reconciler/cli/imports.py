"""``reconciler import``: the group of importers (``swarm``: a live swarm; ``compose`` joins it),
each imported only when it runs and given the global options, like the top-level commands
(``cli.app.LazyGroup``)."""

from __future__ import annotations

import click

from reconciler.cli.app import LazyGroup

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


@click.group("import", cls=LazyGroup, lazy=IMPORTERS)
def import_group() -> None:
    """Turn what runs now (compose files, a live swarm) into manifests."""
