"""A manifest path to a validated ``ManifestSet``, or a ``ManifestError`` listing every problem.

discover files → parse YAML with positions → validate each document against its kind's model →
read `file:` contents → cross-resource checks (``cross_checks``, or ``incremental_checks`` across
revisions) → warnings (``warning_checks``, carried on the
result or the error, never blocking). Nothing is returned unless everything is valid: an
invalid set is never partially applied. The problems listed are capped (``errors.capped``): per file
and per run. Called by the CLI and by the controller for each revision.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from reconciler import API_VERSION
from reconciler.manifests.cross_checks import check_set
from reconciler.manifests.discovery import discover, inside
from reconciler.manifests.engine_limits import MAX_CONFIG_BYTES, content_size_problem
from reconciler.manifests.error_text import error_message, expectation, field_example, join_messages
from reconciler.manifests.errors import (
    NESTED_MORE,
    ManifestError,
    ManifestProblem,
    Position,
    capped,
    clip,
    described,
    dotted,
    shown,
)
from reconciler.manifests.fields_sets import FieldsSets, share_fields_sets
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.kinds.config import Config, Secret
from reconciler.manifests.manifest_set import LoadedManifest, ManifestSet
from reconciler.manifests.parse_cache import CachedFile, ParseCache
from reconciler.manifests.positions import Layouts
from reconciler.manifests.registry import KINDS
from reconciler.manifests.salvage import salvage
from reconciler.manifests.types import error_loc
from reconciler.manifests.warning_checks import check_warnings
from reconciler.manifests.yaml_source import MAX_FILE_BYTES, FieldPath, RevisionBudget, SourceDocument, parse_yaml

if TYPE_CHECKING:  # the controller's, for its revisions; one-shot commands check the whole set
    from reconciler.manifests.incremental_checks import CrossChecks

__all__ = ["MAX_CONTENT_BYTES", "load_manifests"]

MAX_CONTENT_BYTES = MAX_CONFIG_BYTES  # the most a config or secret file is read for (engine_limits)


def load_manifests(path: str | Path, cache: ParseCache | None = None, checks: CrossChecks | None = None) -> ManifestSet:
    """``cache``: files whose bytes are unchanged since the last load with it are not parsed or
    validated again (``parse_cache``); ``checks``: the cross checks work out again only what changed
    since the last load with it (``incremental_checks``). The result is the same without them."""
    found = discover(Path(path))
    problems = list(found.problems)
    loaded: list[LoadedManifest] = []
    broken: set[str] = set()  # Kind/name of documents that failed: references to them are not news
    salvaged: list[LoadedManifest] = []  # failed documents cut down to what passes (``salvage``)
    layouts = Layouts()  # documents of one shape share their positions' paths (``positions``)
    fields_sets: FieldsSets = {}  # and models their sets of fields given (``fields_sets``)
    budget = RevisionBudget()  # bounds the work of the whole load, not only of each file
    folders: dict[Path, Path] = {}  # one Path per folder for its manifests to share
    for file, name in found.files:
        folder = folders.setdefault(file.parent, file.parent)
        try:
            raw = _read_regular_file(file, MAX_FILE_BYTES + 1)
        except OSError as exc:
            problems.append(ManifestProblem(_pos(name), "-", "-", f"cannot read file: {exc.strerror}"))
            continue
        key = ParseCache.key(name, raw) if cache is not None else None
        cached = cache.get(key) if cache is not None and key is not None else None
        if cached is not None and _charge(budget, cached):
            loaded += [LoadedManifest(resource, document, folder) for document, resource in cached.documents]
            continue
        before = (budget.nodes, budget.text, budget.bytes)
        documents, parse_problems = parse_yaml(raw, name, budget)
        problems += parse_problems
        if budget.ran_out:
            break  # the revision is refused; reading the rest would only cost time
        clean: list[tuple[SourceDocument, Resource]] = []
        for document in documents:
            resource, doc_problems = _validate(document)
            problems += doc_problems
            if resource is not None:
                # Validated: the resource holds what the parsed tree did, and messages need only the
                # positions, kept compact; the tree would stay in memory as long as the set and the parse
                # cache (issue 18).
                kept = document.settled(layouts)
                if cache is not None:  # held between revisions: worth ~10 µs a manifest once
                    share_fields_sets(resource, fields_sets)
                loaded.append(LoadedManifest(resource, kept, folder))
                clean.append((kept, resource))
            elif doc_problems and "/" in doc_problems[0].subject:
                broken.add(doc_problems[0].subject)
                kind = document.data.get("kind") if isinstance(document.data, dict) else None
                if isinstance(kind, str) and kind in KINDS:
                    rest = salvage(document.data, KINDS[kind])
                    if rest is not None:
                        salvaged.append(LoadedManifest(rest, document, folder))
        if cache is not None and key is not None and not parse_problems and len(clean) == len(documents):
            cost = (before[0] - budget.nodes, before[1] - budget.text, before[2] - budget.bytes)
            cache.put(key, CachedFile(tuple(clean), *cost))
    if cache is not None:
        cache.end_load()
    contents, content_problems = _read_contents(loaded, found.root)
    problems += content_problems
    problems += checks.check(loaded, contents, broken) if checks is not None else check_set(loaded, contents, broken)
    problems += [p for p in _salvaged_references(loaded, salvaged, contents, broken) if p not in problems]
    warnings = check_warnings(loaded)
    if problems:
        raise ManifestError(capped(problems, _pos(str(path))), warnings)
    return ManifestSet(root=found.root, items=tuple(loaded), contents=contents, warnings=tuple(sorted(warnings)))


def _salvaged_references(
    loaded: list[LoadedManifest], salvaged: list[LoadedManifest], contents: dict[str, bytes], broken: set[str]
) -> list[ManifestProblem]:
    """The reference problems of the documents that failed their own fields (cut down by
    ``salvage``), found against the whole set: reported in the same run as those field errors."""
    if not salvaged:
        return []
    wanted = {(item.resource.key, dotted(ref.field_path)) for item in salvaged for ref in item.resource.references()}
    return [
        problem
        for problem in check_set([*loaded, *salvaged], contents, broken)
        if (problem.subject, problem.field_path) in wanted
    ]


def _charge(budget: RevisionBudget, cached: CachedFile) -> bool:
    """Draw a cached file's cost on the revision's budget; False (and nothing drawn) when it would go
    over, so that the file is parsed again and the refusal says where."""
    if cached.nodes > budget.nodes or cached.text > budget.text or cached.bytes > budget.bytes:
        return False
    budget.nodes -= cached.nodes
    budget.text -= cached.text
    budget.bytes -= cached.bytes
    return True


def _pos(file: str) -> Position:
    return Position(file, 1, 1)


def _read_regular_file(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; OSError unless it is a regular file. A named pipe would
    block ``open()`` forever and a device may never end (or act on being opened), so the kind is
    checked before opening, and again on the open descriptor in case the path was swapped."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(0, "not a regular file", str(path))
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        found = os.fstat(handle.fileno())
        if not stat.S_ISREG(found.st_mode):
            raise OSError(0, "not a regular file", str(path))
        # read(limit) would allocate the whole limit (1 MiB) for every small manifest, ~13 us a file:
        # read what the file holds and one byte more, and the rest only if it grew meanwhile.
        data = handle.read(min(limit, found.st_size + 1))
        if len(data) > found.st_size and len(data) < limit:
            data += handle.read(limit - len(data))
        return data


def _subject(data: dict[str, Any]) -> str:
    kind = data.get("kind")
    metadata = data.get("metadata")
    name = metadata.get("name") if isinstance(metadata, dict) else None
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    kind_text = kind if isinstance(kind, str) and kind.isidentifier() and len(kind) <= 40 else "-"
    # The name is not validated yet: cut it (the field's own problem says why it is wrong).
    if isinstance(namespace, str) and namespace and isinstance(name, str) and name:
        return f"{kind_text}/{clip(namespace, 80)}/{clip(name, 80)}"
    return f"{kind_text}/{clip(name, 80)}" if isinstance(name, str) and name else kind_text


def _validate(document: SourceDocument) -> tuple[Resource | None, list[ManifestProblem]]:
    data = document.data
    if not isinstance(data, dict):
        return None, [
            ManifestProblem(
                document.position(),
                "-",
                "-",
                "a manifest must be a mapping with apiVersion, kind, metadata and spec",
            )
        ]
    subject = _subject(data)
    problems: list[ManifestProblem] = []
    api_version, kind = data.get("apiVersion"), data.get("kind")
    if api_version != API_VERSION:
        said = "missing" if api_version is None else f"unknown apiVersion {shown(api_version)}"
        problems.append(
            ManifestProblem(document.position(("apiVersion",)), subject, "apiVersion", f"{said}: use {API_VERSION}")
        )
    if not isinstance(kind, str | None):
        problems.append(
            ManifestProblem(
                document.position(("kind",)),
                subject,
                "kind",
                f"kind must be a string, one of {', '.join(KINDS)} (got {described(kind)})",
            )
        )
        return None, problems
    if kind not in KINDS:
        said = "missing" if kind is None else f"unknown kind {shown(kind)}"
        problems.append(
            ManifestProblem(
                document.position(("kind",)), subject, "kind", f"{said}: expected one of {', '.join(KINDS)}"
            )
        )
        return None, problems
    try:
        resource = KINDS[kind].model_validate(data)
    except ValidationError as exc:
        return None, problems + _translate(exc, document, subject, KINDS[kind])
    return (resource if not problems else None), problems


def _translate(
    exc: ValidationError, document: SourceDocument, subject: str, model: type[Resource]
) -> list[ManifestProblem]:
    """Pydantic errors to positioned problems. Union branches add type names to ``loc`` that are not
    in the document; they are dropped, and the alternatives' messages for one field are joined.
    A ``types.nested_error`` carries the path of the value it is about below its field. The type
    errors of a union's branches become one "expected A or B, not C" (``error_text.join_messages``)."""
    by_path: dict[FieldPath, tuple[list[str], list[object], list[str]]] = {}
    examples: dict[FieldPath, object] = {}
    for error in exc.errors(include_url=False):
        field_loc = tuple(error["loc"])
        if field_loc in (("apiVersion",), ("kind",)):
            continue  # a wrong or missing apiVersion or kind is already reported, in plain words
        more = (error.get("ctx") or {}).get(NESTED_MORE, ())
        loc = error_loc(error)
        path = _data_path(document.data, loc, keep_last=error["type"] == "missing")
        expected, values, others = by_path.setdefault(path, ([], [], []))
        found = expectation(error)
        if found is not None:
            expected.append(found[0])
            values[:] = [found[1]]
            examples[path] = field_example(model, tuple(path))  # the data path: no union branch tags
        else:
            others.append(error_message(error, model, document.data))
        for more_path, reason in more:  # the same validator's further problems, each at its place
            by_path.setdefault(_data_path(document.data, (*field_loc, *more_path)), ([], [], []))[2].append(reason)
    return [
        ManifestProblem(
            document.position(path),
            subject,
            dotted(path),
            join_messages(expected, values[0] if values else None, others, examples.get(path)),
        )
        for path, (expected, values, others) in by_path.items()
    ]


def _data_path(data: Any, loc: tuple[int | str, ...], keep_last: bool = False) -> FieldPath:
    """The place in ``data`` that ``loc`` names. A name that is not a key of the mapping there is a
    union branch's tag (``NetworkAttachment``, ``lax-or-strict[...]``, ``float``) and is left out,
    so the error points at the field it is about; a last name is kept with ``keep_last`` (a
    missing field)."""
    path: list[str | int] = []
    current: Any = data
    for index, part in enumerate(loc):
        if isinstance(current, dict) and isinstance(part, str):
            if part in current or (keep_last and index == len(loc) - 1):
                path.append(part)
                current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(part)
            current = current[part]
        # else: a union branch or a type tag, not a place in the document
    return tuple(path)


def _read_contents(loaded: list[LoadedManifest], root: Path) -> tuple[dict[str, bytes], list[ManifestProblem]]:
    contents: dict[str, bytes] = {}
    problems: list[ManifestProblem] = []
    for item in loaded:
        resource = item.resource
        if not isinstance(resource, Config | Secret) or resource.spec.file is None:
            continue
        where = item.source.position(("spec", "file"))
        target = (item.folder / resource.spec.file).resolve()
        if not inside(target, root):
            problems.append(ManifestProblem(where, resource.key, "spec.file", "file is outside the manifest root"))
            continue
        try:
            data = _read_regular_file(target, MAX_CONTENT_BYTES + 1)
        except OSError as exc:
            problems.append(
                ManifestProblem(where, resource.key, "spec.file", f"cannot read {resource.spec.file}: {exc.strerror}")
            )
            continue
        too_big = content_size_problem(resource.KIND, len(data))
        if too_big is not None:
            problems.append(ManifestProblem(where, resource.key, "spec.file", f"{resource.spec.file}: {too_big}"))
            continue
        contents[resource.key] = data
    for item in loaded:
        resource = item.resource
        if isinstance(resource, Config) and resource.spec.data is not None:
            data = resource.spec.data.encode()
            too_big = content_size_problem(resource.KIND, len(data))
            if too_big is not None:
                problems.append(
                    ManifestProblem(item.source.position(("spec", "data")), resource.key, "spec.data", too_big)
                )
                continue
            contents[resource.key] = data
    return contents, problems
