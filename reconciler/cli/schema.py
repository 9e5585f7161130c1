"""``reconciler schema [--out DIR]``: the JSON schema of every kind (the ``crds/`` folder)."""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.context import settings


@click.command()
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), help="Write one file per kind here.")
@click.pass_context
def schema(ctx: click.Context, out: Path | None) -> None:
    """Print the JSON schemas of all kinds, or write them to a folder."""
    from reconciler.cli.views import out_console, print_json  # here: `schema --help` needs no models
    from reconciler.manifests.schema import schema_documents, write_schemas

    if out is None:
        print_json(schema_documents())
        return
    written = write_schemas(out)
    if settings(ctx).output == "json":  # one JSON document on stdout, as every command with -o json
        print_json({"wrote": [str(path) for path in written]})
        return
    for path in written:
        out_console().print(f"wrote {path}")
