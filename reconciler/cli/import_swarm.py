"""``reconciler import swarm [--stack NAME] [--service NAME...] [--out DIR]``: live objects to
manifests that, applied with ``apply --adopt``, change only the reconciler's labels.

The manifests go to ``--out`` (one file per manifest, a stack's in ``DIR/<stack>/``, the objects it
uses in ``DIR``) or to stdout. On stderr: what was not imported and why, what the Service kind cannot
express, and what an adoption would still change, found by planning the adoption against the same
snapshot (``importing.live_check``). Exit 0, or 2 when the import cannot be done (no engine, an
unknown ``--service``, an empty ``--stack``, ``--out`` not writable or holding a symbolic link where a
file or folder is written).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import click

from reconciler.cli.context import EXIT_OK, settings

if TYPE_CHECKING:  # imported where used: `import swarm --help` needs neither the docker SDK nor the models
    from reconciler.importing.live_swarm import Finding

__all__ = ["swarm"]


@click.command()
@click.option("--stack", metavar="NAME", help="Only the objects of this stack (com.docker.stack.namespace).")
@click.option("--service", "services", metavar="NAME", multiple=True,
              help="Only this service and what it uses (repeat for more).")  # fmt: skip
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one file per manifest here (default: stdout).",
)
@click.pass_context
def swarm(ctx: click.Context, stack: str | None, services: tuple[str, ...], out: Path | None) -> None:
    """Write manifests for what runs in the swarm, ready for `apply --adopt`."""
    from reconciler.cli.session import connect_or_exit, fail
    from reconciler.cli.views import print_problems
    from reconciler.importing.live_check import adoption_findings
    from reconciler.importing.live_swarm import LiveImportError, import_live, write_import
    from reconciler.manifests.errors import ManifestError
    from reconciler.swarm.port import SwarmError

    conf = settings(ctx)
    engine = connect_or_exit(ctx, conf)
    try:
        snapshot = engine.snapshot()
        imported = import_live(snapshot, stack, services)
    except (SwarmError, LiveImportError) as exc:
        fail(ctx, f"error: {exc}")
    if not imported.documents:
        fail(ctx, "error: nothing to import: " + ("; ".join(imported.notes) or "the swarm runs no service"))
    # Checked alone, in a scratch folder: --out may hold other manifests (an earlier import's) already.
    with tempfile.TemporaryDirectory(prefix="reconciler-import-") as scratch:
        write_import(imported.documents, Path(scratch))
        try:
            findings = adoption_findings(Path(scratch), snapshot, conf.instance, imported.findings)
        except ManifestError as exc:  # a document the importer made that the kinds refuse: a bug
            print_problems(exc.problems, conf.output)
            fail(ctx, "error: the imported manifests do not validate (a bug of the importer; please report it)")
    try:
        written = write_import(imported.documents, out) if out is not None else None
    except OSError as exc:  # a symbolic link on the way (importing.safe_write), no room, no right
        fail(ctx, f"error: cannot write {exc.filename or out}: {exc.strerror or exc}")
    _report(conf.output, imported.documents, findings, imported.notes, written)
    ctx.exit(EXIT_OK)


def _report(output: str, documents: list[dict[str, object]], findings: list[Finding], notes: list[str],
            written: list[Path] | None) -> None:  # fmt: skip
    from reconciler.cli.views import err_console, out_console, print_json
    from reconciler.importing.yaml_emit import dump_documents

    if output == "json":
        print_json({
            "documents": documents,
            "written": [str(p) for p in written or []],
            "findings": [{"subject": f.subject, "field": f.field, "message": f.message} for f in findings],
            "notes": notes,
        })  # fmt: skip
        return
    if written is None:
        click.echo(dump_documents(documents), nl=False)
    else:
        for path in written:
            out_console().print(f"wrote {path}")
    errors = err_console()
    for note in notes:
        errors.print(f"note: {note}", style="dim", markup=False)
    for finding in findings:
        errors.print(f"not kept: {finding}", style="yellow", markup=False)
    if findings:
        errors.print(f"{len(findings)} thing(s) above are not kept as they run: `apply --adopt` would change "
                     "or drop them; the rest changes only the reconciler's labels", markup=False)  # fmt: skip
    else:
        errors.print("`apply --adopt` of these manifests changes only the reconciler's labels: no task restarts",
                     markup=False)  # fmt: skip
