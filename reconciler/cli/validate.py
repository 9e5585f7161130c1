"""``reconciler validate [PATH]``: parse and check manifests offline. Exit 0 valid, 1 invalid."""

from __future__ import annotations

from collections import Counter

import click

from reconciler.cli.context import EXIT_OK, EXIT_PROBLEMS, settings
from reconciler.cli.views import out_console, print_json, print_problems
from reconciler.manifests.errors import ManifestError, ManifestProblem, Position
from reconciler.manifests.loading import load_manifests


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.pass_context
def validate(ctx: click.Context, path: str) -> None:
    """Parse and check the manifests under PATH (default: the current folder)."""
    output = settings(ctx).output
    try:
        manifests = load_manifests(path)
    except ManifestError as exc:
        print_problems(exc.problems, output)
        ctx.exit(EXIT_PROBLEMS)
    if len(manifests) == 0:
        print_problems([ManifestProblem(Position(path, 1, 1), "-", "-", "no manifests (*.yaml, *.yml) found")], output)
        ctx.exit(EXIT_PROBLEMS)
    counts = Counter(resource.KIND for resource in manifests)
    if output == "json":
        print_json({"valid": True, "manifests": [r.key for r in manifests], "counts": dict(counts)})
    else:
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        out_console().print(f"{len(manifests)} manifests valid ({summary}).")
    ctx.exit(EXIT_OK)
