"""Bytes of one YAML file to plain Python documents that remember where every value came from.

Built on PyYAML's event parser (libyaml when present; events carry marks). Our own iterative
composer turns events into nodes, bounding depth as it goes: libyaml's own composer recurses in C and
crashes the process on a deeply nested file. Our small constructor then turns nodes into data so that
we can keep a position for every path, refuse duplicate keys and merge keys, keep timestamps as the
strings the user wrote, and bound alias expansion (a YAML bomb): values and characters of text
are counted as they are built, per file and, through a ``RevisionBudget``, across the files of one
revision, so an oversized revision is refused in milliseconds, at the place where it went over.
Called by ``reconciler.manifests.loading`` for every file it finds.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import yaml
from yaml import events as ev
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import CollectionNode, MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from reconciler.manifests.errors import ManifestProblem, Position, dotted, shown
from reconciler.manifests.positions import Layouts, Positions

__all__ = [
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MAX_REVISION_BYTES",
    "MAX_REVISION_NODES",
    "MAX_REVISION_TEXT",
    "MAX_TEXT",
    "FieldPath",
    "RevisionBudget",
    "SourceDocument",
    "parse_yaml",
]

MAX_FILE_BYTES = 1024 * 1024  # manifests are small; anything bigger is a mistake or an attack
MAX_NODES = 100_000  # values after alias expansion, per file
# Characters of scalar text (keys and values) after alias expansion, per file. Without it, one
# 500,000-character string reused 1,000 times through aliases passed the value count and took 49 s
# to validate (issue 14). A file without aliases holds at most MAX_FILE_BYTES of text.
MAX_TEXT = 4 * 1024 * 1024
# The same across the files of one revision, plus their bytes: what one load may cost at most
# (about 2-3 s of parsing at the value bound), so the controller's loop is never held longer.
MAX_REVISION_NODES = 250_000
MAX_REVISION_TEXT = 8 * 1024 * 1024
MAX_REVISION_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 64
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
# Where YAML (and libyaml's line count) breaks lines.
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

# libyaml is ~8x faster than the pure-Python scanner: it keeps a 1 MiB file well under a few seconds.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)  # kept per manifest as long as it is loaded: no __dict__ each
class SourceDocument:
    """One ``---`` document of a file with the 1-based position of each value by field path."""

    file: str
    index: int
    data: Any  # the parsed value; None once it validated (``loading`` keeps only the resource and positions)
    positions: Mapping[FieldPath, tuple[int, int]] = field(repr=False)

    def settled(self, layouts: Layouts | None = None) -> SourceDocument:
        """As kept once it validated: without its parsed tree, with its positions made compact
        (``manifests.positions``; ``layouts`` shares their shape between the documents of one load)."""
        return replace(self, data=None, positions=Positions(self.positions, layouts))

    def position(self, path: FieldPath = ()) -> Position:
        """The closest recorded place for ``path``: the value itself, or its nearest parent."""
        for end in range(len(path), -1, -1):
            found = self.positions.get(tuple(path[:end]))
            if found is not None:
                return Position(self.file, found[0], found[1])
        return Position(self.file, 1, 1)


@dataclass
class RevisionBudget:
    """What the rest of one revision may still hold: values, characters of text and file bytes.
    ``parse_yaml`` draws on it; the loader makes one per load and stops reading once it ``ran_out``."""

    nodes: int = MAX_REVISION_NODES
    text: int = MAX_REVISION_TEXT
    bytes: int = MAX_REVISION_BYTES
    ran_out: bool = False


class _TooBig(Exception):
    def __init__(self, message: str, node: Node | None = None, path: FieldPath = ()) -> None:
        super().__init__(message)
        self.node = node  # where it went over (its start mark), when known
        self.path = path


class _AliasNode(Node):
    """A use of an anchor (``*a``): the anchored node plus the place of this use, so that positions
    (and an expansion that goes over a bound) point at the alias rather than at the anchor."""

    def __init__(self, target: Node, start_mark: Any) -> None:
        super().__init__(target.tag, target.value, start_mark, start_mark)
        self.target = target


def _compose_all(text: str) -> Any:
    """Yield each document's root node (or None), like ``yaml.compose_all`` but without recursion."""
    resolve: Any = Resolver().resolve  # untyped in the stubs
    anchors: dict[str, Node] = {}
    stack: list[tuple[CollectionNode, list[Node]]] = []  # node, pending mapping key (0 or 1 item)
    root: Node | None = None

    def attach(node: Node) -> None:
        nonlocal root
        if not stack:
            root = node
            return
        parent, pending = stack[-1]
        if isinstance(parent, SequenceNode):
            parent.value.append(node)
        elif pending:
            parent.value.append((pending.pop(), node))
        else:
            pending.append(node)

    for event in yaml.parse(text, Loader=_LOADER):
        # libyaml's events carry its own Mark type, which the node stubs do not accept.
        start: Any = event.start_mark
        if isinstance(event, ev.DocumentStartEvent):
            anchors, root = {}, None
        elif isinstance(event, ev.DocumentEndEvent):
            yield root
        elif isinstance(event, ev.AliasEvent):
            if event.anchor not in anchors:
                raise ComposerError(None, None, f"found undefined alias {shown(event.anchor)}", start)
            attach(_AliasNode(anchors[event.anchor], start))
        elif isinstance(event, ev.ScalarEvent | ev.SequenceStartEvent | ev.MappingStartEvent):
            node: Node
            if isinstance(event, ev.ScalarEvent):
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(ScalarNode, event.value, event.implicit)
                node = ScalarNode(tag, event.value, start, start, style=event.style)
            else:
                kind = SequenceNode if isinstance(event, ev.SequenceStartEvent) else MappingNode
                tag = event.tag
                if tag is None or tag == "!":
                    tag = resolve(kind, None, event.implicit)
                node = kind(tag, [], start, None, flow_style=event.flow_style)
            if event.anchor is not None:
                anchors[event.anchor] = node
            attach(node)
            if isinstance(node, CollectionNode):
                stack.append((node, []))
                if len(stack) > MAX_DEPTH:
                    raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, ev.SequenceEndEvent | ev.MappingEndEvent):
            stack.pop()


class _Builder:
    """Node graph to data. Aliases are re-walked, so the value and text budgets (this file's and the
    revision's) bound their expansion."""

    def __init__(self, file: str, revision: RevisionBudget) -> None:
        self.file = file
        self.budget = MAX_NODES
        self.text = MAX_TEXT
        self.revision = revision
        self.positions: dict[FieldPath, tuple[int, int]] = {}
        self.problems: list[ManifestProblem] = []
        self._scalars = SafeConstructor()
        self._refused: set[int] = set()  # ids of tagged collections already reported (aliases repeat them)

    def build(self, node: Node, path: FieldPath, mark: Node | None = None) -> Any:
        if isinstance(node, _AliasNode):
            return self.build(node.target, path, mark or node)
        self.budget -= 1
        self.revision.nodes -= 1
        if self.budget < 0:
            raise _TooBig(f"more than {MAX_NODES} values (counting alias expansions)", mark or node, path)
        if self.revision.nodes < 0:
            raise _TooBig(
                f"the revision holds more than {MAX_REVISION_NODES} values in all its files "
                "(counting alias expansions): refused",
                mark or node,
                path,
            )
        if isinstance(node, ScalarNode):
            self._charge(node.value, mark or node, path)
        if len(path) > MAX_DEPTH:
            raise _TooBig(f"nested deeper than {MAX_DEPTH} levels")
        where = (mark or node).start_mark
        self.positions.setdefault(path, (where.line + 1, where.column + 1))
        if isinstance(node, MappingNode):
            self._check_tag(node, path, _MAP_TAG, "mapping")
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            self._check_tag(node, path, _SEQ_TAG, "sequence")
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        if node.tag == "tag:yaml.org,2002:timestamp":
            return node.value  # dates stay as written: no field takes a datetime
        if node.tag == "tag:yaml.org,2002:binary":
            self._problem(node, path, "binary (!!binary) values are not supported")
            return None
        return self._scalars.construct_object(node, deep=True)

    def _mapping(self, node: MappingNode, path: FieldPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_use, value_node in node.value:
            key_node = key_use.target if isinstance(key_use, _AliasNode) else key_use
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._problem(key_node, path, "merge keys (<<) are not supported: write the fields out")
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                self._problem(key_node, path, "mapping keys must be plain strings")
                continue
            key = key_node.value
            self._charge(key, key_use, (*path, key))
            if key in result:
                self._problem(key_use, (*path, key), f"duplicate key {shown(key)}")
                continue
            result[key] = self.build(value_node, (*path, key), mark=key_use)
        return result

    def _charge(self, text: str, where: Node, path: FieldPath) -> None:
        """Count ``text`` against this file's and the revision's text budgets; ``_TooBig`` at ``where``."""
        self.text -= len(text)
        self.revision.text -= len(text)
        if self.text < 0:
            raise _TooBig(
                f"more than {MAX_TEXT // (1024 * 1024)} MiB of text (counting alias expansions): "
                "a value reused through aliases counts each time",
                where,
                path,
            )
        if self.revision.text < 0:
            raise _TooBig(
                f"the revision holds more than {MAX_REVISION_TEXT // (1024 * 1024)} MiB of text in all its "
                "files (counting alias expansions): refused",
                where,
                path,
            )

    def _check_tag(self, node: CollectionNode, path: FieldPath, plain: str, what: str) -> None:
        """A tag on a mapping or sequence (``!!python/object:...``, ``!custom``) is refused like one on
        a scalar; the content is still read as plain data, so its own problems are reported too."""
        if node.tag != plain and id(node) not in self._refused:
            self._refused.add(id(node))
            self._problem(node, path, f"unsupported YAML tag {shown(node.tag)}: only plain {what}s are allowed")

    def _problem(self, node: Node, path: FieldPath, message: str) -> None:
        mark = node.start_mark
        self.problems.append(
            ManifestProblem(Position(self.file, mark.line + 1, mark.column + 1), "-", dotted(path), message)
        )


def parse_yaml(
    raw: bytes, file: str, revision: RevisionBudget | None = None
) -> tuple[list[SourceDocument], list[ManifestProblem]]:
    """Decode and parse one file's bytes. Problems are returned, never raised; empty documents skipped.

    ``revision`` is what the rest of the revision may hold (a fresh budget when None); it is drawn on
    and its ``ran_out`` set when this file went over one of the revision's bounds.
    """
    budget = RevisionBudget() if revision is None else revision

    def whole_file(message: str, line: int = 1, column: int = 1) -> tuple[list[SourceDocument], list[ManifestProblem]]:
        return [], [ManifestProblem(Position(file, line, column), "-", "-", message)]

    if len(raw) > MAX_FILE_BYTES:
        return whole_file(f"file is larger than {MAX_FILE_BYTES // 1024} KiB: not a manifest")
    budget.bytes -= len(raw)
    if budget.bytes < 0:
        budget.ran_out = True
        return whole_file(f"the revision's files hold more than {MAX_REVISION_BYTES // (1024 * 1024)} MiB: refused")
    if b"\x00" in raw:
        return whole_file("file contains NUL bytes: binary, not YAML")
    body = raw.removeprefix(codecs.BOM_UTF8)  # error offsets are then offsets into `body`
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        # Everything before the bad byte is valid: count lines and characters as libyaml does.
        lines = _LINE_BREAK.split(body[: exc.start].decode("utf-8"))
        return whole_file(f"not valid UTF-8 (byte 0x{body[exc.start]:02x})", len(lines), len(lines[-1]) + 1)

    documents: list[SourceDocument] = []
    problems: list[ManifestProblem] = []
    try:
        for index, root in enumerate(_compose_all(text)):
            if root is None:
                continue
            builder = _Builder(file, budget)
            data = builder.build(root, ())
            problems += builder.problems
            if data is None or (isinstance(data, str | int | float | bool) and not builder.problems):
                if data is not None:
                    start = root.start_mark
                    problems.append(
                        ManifestProblem(
                            Position(file, start.line + 1, start.column + 1),
                            "-",
                            "-",
                            "a manifest must be a mapping with apiVersion, kind, metadata and spec",
                        )
                    )
                continue
            documents.append(SourceDocument(file, index, data, builder.positions))
    except yaml.MarkedYAMLError as exc:
        if "maximum nesting depth" in str(exc.problem):
            # libyaml 0.2.5's scanner (PyYAML >= 6.0.4 wheels) stops at 1,000 levels while it looks
            # ahead in a flow collection, before our composer sees depth 65: the same refusal.
            return documents, [*problems, *whole_file(f"nested deeper than {MAX_DEPTH} levels")[1]]
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        reason = exc.problem or exc.context or "invalid YAML"
        if isinstance(exc, ConstructorError):
            reason = f"unsupported YAML value: {reason}"
        return documents, [*problems, *whole_file(f"invalid YAML: {reason}", line, column)[1]]
    except yaml.YAMLError as exc:
        return documents, [*problems, *whole_file(f"invalid YAML: {exc}")[1]]
    except _TooBig as exc:
        budget.ran_out = min(budget.nodes, budget.text) < 0
        mark = exc.node.start_mark if exc.node is not None else None
        where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        problem = ManifestProblem(Position(file, *where), "-", dotted(exc.path), str(exc))
        return documents, [*problems, problem]
    except RecursionError:
        return documents, [*problems, *whole_file(f"nested deeper than {MAX_DEPTH} levels")[1]]
    return documents, problems  # the loader caps how many are listed (errors.capped)
