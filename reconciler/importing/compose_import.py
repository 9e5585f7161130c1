"""``import compose``: compose files to manifest documents, with every finding.

Order: load and merge (``compose_loading``), then networks, volumes, configs and secrets
(``compose_objects``) so that services can refer to them, then services with their Traefik
labels (``compose_service``). With ``stack``, manifests carry ``metadata.namespace: <stack>``
(Swarm names ``<stack>_<name>``, as ``docker stack deploy`` gives them); the network labels may then name stack networks ``<stack>_<key>``. Every document is
finally checked with its kind's model; one the model refuses is a finding, never written.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from reconciler.importing.compose_loading import ComposeError, load_compose
from reconciler.importing.compose_objects import convert_configs, convert_networks, convert_volumes
from reconciler.importing.compose_service import convert_service
from reconciler.importing.conversion import Context
from reconciler.importing.findings import Finding
from reconciler.importing.project_files import read_bounded
from reconciler.importing.refused_values import MAX_REFUSALS, drop_refused
from reconciler.importing.safe_write import write_inside
from reconciler.importing.yaml_emit import sorted_documents, write_documents
from reconciler.manifests.engine_limits import MAX_CONFIG_BYTES
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.registry import KINDS
from reconciler.manifests.types import NAMESPACE_PATTERN

__all__ = ["ComposeImport", "import_compose", "write_copies"]


@dataclass
class ComposeImport:
    documents: list[dict[str, Any]]
    findings: list[Finding]
    copies: list[tuple[Path, str]]  # files to copy below the output folder
    unset: list[str]  # variables used without a value

    @property
    def lost(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "lost"]


def _check(ctx: Context) -> list[dict[str, Any]]:
    """Each document checked by its kind's model; a refused value is taken out and reported, and
    the rest kept, unless the refusal is of the whole document."""
    kept: list[dict[str, Any]] = []
    for document in ctx.documents:
        kind, name = document["kind"], document["metadata"]["name"]
        for _ in range(MAX_REFUSALS):
            try:
                KINDS[kind].model_validate(document)
            except ValidationError as exc:
                error = exc.errors()[0]
                dropped = drop_refused(document, error["loc"])
                subject = f"{kind} {name}"
                what = dropped or ".".join(str(p) for p in error["loc"]) or "-"
                outcome = "left out" if dropped else "the manifest is not written"
                where = ctx.project.where(ctx.origins.get(id(document), ()))
                ctx.findings.append(Finding(where, subject, what, f"{error['msg']}: {outcome}"))
                if dropped is None:
                    break
                continue
            kept.append({**document, "spec": _in_field_order(kind, document["spec"])})
            break
    return kept


def _in_field_order(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The spec's keys in the order its model declares them, base classes first, except the fields
    of mixins (``RuntimeFields``, ``TaskFields``), which come last: ``image`` leads a Service."""
    model = KINDS[kind].model_fields["spec"].annotation
    fields = getattr(model, "model_fields", {})
    classes = [c for c in reversed(getattr(model, "__mro__", ())) if "__annotations__" in vars(c)]
    mixins = [c for c in classes if c.__name__.endswith("Fields")]
    names = [name for c in [*(c for c in classes if c not in mixins), *mixins] for name in vars(c)["__annotations__"]]
    order: dict[str, int] = {}
    for name in names:
        if name in fields:
            order.setdefault(fields[name].alias or name, len(order))
    return dict(sorted(spec.items(), key=lambda item: order.get(item[0], len(order))))


def import_compose(
    paths: Sequence[str], stack: str | None = None, out: Path | None = None, environ: Mapping[str, str] | None = None
) -> ComposeImport:
    """Raises ``ComposeError`` when the files cannot be read as compose or ``stack`` is no stack name."""
    if stack is not None and not re.fullmatch(NAMESPACE_PATTERN, stack):
        raise ComposeError(
            f"--stack {stack!r} is not a stack name: lowercase letters, digits, '-' and '_', "
            "starting and ending with a letter or digit (as docker stack ls shows it)"
        )
    project = load_compose(paths, environ)
    ctx = Context(project, stack, out)
    for section in ("version", "name"):
        if section in project.data:
            ctx.ignored((section,), "file", section, "carries no meaning for Swarm")
    for section in project.data:
        if section not in {"version", "name", "services", "networks", "volumes", "configs", "secrets"} and not str(
            section
        ).startswith("x-"):
            ctx.lost((section,), "file", section, "no manifest kind says this")
    convert_networks(ctx)
    convert_volumes(ctx)
    convert_configs(ctx, "configs")
    convert_configs(ctx, "secrets")
    for key, data in (project.data.get("services") or {}).items():
        convert_service(ctx, key, data)
    documents = sorted_documents(_check(ctx))
    result = ComposeImport(documents, ctx.findings, ctx.copies, sorted(project.unset))
    _check_set(result, ctx)
    return result


def _check_set(result: ComposeImport, ctx: Context) -> None:
    """The manifests loaded together, as ``reconciler validate`` loads them (references, cross
    checks, files): a problem there is a finding, so the import never claims to be complete when
    what it wrote does not validate."""
    with tempfile.TemporaryDirectory(prefix="reconciler-import-") as folder:
        root = Path(folder)
        write_documents(result.documents, root)
        if ctx.out is not None:
            write_copies(result, root)
        else:  # stdout: `file:` is relative to the current folder
            for document in result.documents:
                relative = document["spec"].get("file")
                if relative and (Path.cwd() / relative).is_file():
                    (root / relative).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(Path.cwd() / relative, root / relative)
        try:
            load_manifests(root)
        except ManifestError as exc:
            for problem in exc.problems:
                if problem.note:
                    continue
                result.findings.append(
                    Finding(
                        ctx.project.where(()),
                        problem.subject,
                        problem.field_path,
                        f"the imported manifests do not validate together: {problem.message}",
                    )
                )


def write_copies(result: ComposeImport, out: Path) -> None:
    """The config and secret files below ``out``, never through a symbolic link; a secret's readable
    by its owner only (``safe_write``)."""
    for source, relative in result.copies:
        data = read_bounded(source, MAX_CONFIG_BYTES + 1)
        write_inside(out, relative, data, private=relative.startswith("files/secrets/"))
