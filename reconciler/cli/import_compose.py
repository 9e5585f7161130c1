"""``reconciler import compose FILE... [--stack NAME] [--out DIR]``: compose files to manifests
(a command of the ``import`` group, ``cli.imports``).

Exit 0: everything was carried over; 1: something could not be expressed (each listed on stderr as
``file:line:column: subject: key: reason``; the rest is still written); 2: the files cannot be read
as compose (``file:line:column: message``), ``--stack`` is no stack name, or the output cannot be
written; with ``-o json`` an error is ``{error, exit_code}`` on stdout, as for every command. Without ``--out`` the
manifests go to stdout as one YAML stream; with it, one file per manifest (``service-web.yaml``)
and config/secret files below ``files/``; a manifest file already in DIR that this run did not
write is named (a stale one would still be applied). ``-o json`` prints ``{manifests, findings,
written, not_written}``.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.context import EXIT_OK, EXIT_PROBLEMS, settings

__all__ = ["compose"]


@click.command("compose")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=str, dir_okay=False))
@click.option("--stack", help="The stack name given to docker stack deploy: manifests get metadata.namespace.")
@click.option(
    "--out",
    type=click.Path(path_type=Path, file_okay=False),
    help="Write one file per manifest here (default: stdout).",
)
@click.pass_context
def compose(ctx: click.Context, files: tuple[str, ...], stack: str | None, out: Path | None) -> None:
    """Compose FILES, merged in order, to manifests; Traefik deploy.labels to Routes and Middlewares."""
    from reconciler.cli.failing import fail  # here, with rich: `import compose --help` needs neither
    from reconciler.cli.views import print_json
    from reconciler.importing.compose_import import import_compose, write_copies
    from reconciler.importing.compose_loading import ComposeError
    from reconciler.importing.yaml_emit import dump_documents, write_documents

    output = settings(ctx).output
    try:
        result = import_compose(list(files), stack, out)
    except ComposeError as exc:
        fail(ctx, f"error: {exc}")
    written: list[str] = []
    others: list[str] = []
    if out is not None:
        before = {p for p in out.glob("*.y*ml") if p.suffix in (".yaml", ".yml")} if out.is_dir() else set()
        try:
            written = [str(p) for p in write_documents(result.documents, out)]
            write_copies(result, out)
        except OSError as exc:
            fail(ctx, f"error: cannot write {exc.filename or out}: {exc.strerror or exc}")
        others = sorted(str(p) for p in before if str(p) not in written)
    if output == "json":
        print_json(
            {
                "manifests": result.documents,
                "findings": [
                    {"where": f.where, "subject": f.subject, "key": f.key, "reason": f.reason, "severity": f.severity}
                    for f in result.findings
                ],
                "written": written,
                "not_written": others,
            }
        )
    else:
        if out is None:
            click.echo(dump_documents(result.documents), nl=False)
        else:
            click.echo(f"wrote {len(written)} manifests to {out}", err=True)
        for other in others:  # from an earlier import, or the user's: a stale one would still be applied
            click.echo(f"reconciler: warning: {other} was not written by this import (left as it is)", err=True)
        if not result.documents:
            click.echo("reconciler: warning: the compose files hold nothing to import", err=True)
        for name in result.unset:
            click.echo(f"reconciler: warning: variable {name} is not set: it became an empty string", err=True)
        for finding in result.findings:
            click.echo(finding.text(), err=True)
        if result.lost:
            click.echo(f"{len(result.lost)} thing(s) could not be expressed as manifests (listed above)", err=True)
    ctx.exit(EXIT_PROBLEMS if result.lost else EXIT_OK)
