"""``reconciler validate [PATH] [--strict]``: parse and check manifests offline.

Exit 0 valid (warnings are printed, ``file:line:column: warning: ...``), 1 invalid; with
``--strict``, 1 also when there are warnings; 2 when PATH does not exist.
"""

from __future__ import annotations

from collections import Counter

import click

from reconciler.cli.context import EXIT_OK, EXIT_PROBLEMS, settings


@click.command()
@click.argument("path", default=".", type=click.Path(path_type=str))
@click.option("--strict", is_flag=True, help="Exit 1 when there are warnings, too.")
@click.pass_context
def validate(ctx: click.Context, path: str, strict: bool) -> None:
    """Parse and check the manifests under PATH (default: the current folder)."""
    # Here, not at the top: `validate --help` needs neither the models nor rich.
    from reconciler.cli.failing import path_or_exit
    from reconciler.cli.views import out_console, print_json, print_problems, print_warnings, warnings_as_json
    from reconciler.manifests.errors import ManifestError, ManifestProblem, Position
    from reconciler.manifests.loading import load_manifests

    output = settings(ctx).output
    path_or_exit(ctx, path)
    try:
        manifests = load_manifests(path)
    except ManifestError as exc:
        print_problems(exc.problems, output, exc.warnings)
        ctx.exit(EXIT_PROBLEMS)
    if len(manifests) == 0:
        print_problems([ManifestProblem(Position(path, 1, 1), "-", "-", "no manifests (*.yaml, *.yml) found")], output)
        ctx.exit(EXIT_PROBLEMS)
    warnings = list(manifests.warnings)
    failed = strict and bool(warnings)
    counts = Counter(resource.KIND for resource in manifests)
    if output == "json":
        print_json(
            {
                "valid": not failed,
                "manifests": [r.key for r in manifests],
                "counts": dict(counts),
                "warnings": warnings_as_json(warnings),
            }
        )
    else:
        print_warnings(warnings)
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        said = f", {len(warnings)} warning(s)" if warnings else ""
        verdict = "invalid with --strict" if failed else "valid"
        out_console().print(f"{len(manifests)} manifests {verdict} ({summary}){said}.")
    ctx.exit(EXIT_PROBLEMS if failed else EXIT_OK)
