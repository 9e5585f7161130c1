"""One compose file's text to plain data that remembers the line and column of every value.

Compose files are read as ``docker stack deploy`` reads them (docker-cli ``loader.ParseYAML``,
go-yaml v3): YAML 1.2's core schema, so ``yes``/``no``/``on``/``off`` stay strings and ``22:22`` is
not a base-60 number (PyYAML's YAML 1.1 would turn both); no timestamps; merge keys (``<<: *base``,
common with ``x-`` anchors) are honoured; the top level must be a mapping. Used by
``compose_loading``.

A compose file may come from anyone, so it gets the manifest loader's bounds
(``manifests.yaml_source``): nesting deeper than ``MAX_DEPTH`` is refused while composing (PyYAML's
composer recurses: 5,000 ``[`` ended in a RecursionError), and values and characters of text are
counted as the data is built, an alias each time it is expanded, so a billion-laughs file (which took
all memory) is refused in milliseconds at the anchor that goes over. Merge keys do not multiply:
PyYAML's ``flatten_mapping`` keeps one pair per key.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from reconciler.manifests.yaml_source import MAX_DEPTH, MAX_NODES, MAX_TEXT

__all__ = ["ComposeFile", "ComposeYamlError", "Path", "parse_compose_yaml"]

Path = tuple[str | int, ...]


class ComposeYamlError(ValueError):
    def __init__(self, file: str, line: int, column: int, message: str) -> None:
        super().__init__(f"{file}:{line}:{column}: {message}")


class _Loader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 core-schema scalars only, and nesting bounded while composing."""

    depth = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise ComposerError(None, None, f"nested deeper than {MAX_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


_Loader.yaml_implicit_resolvers = {}
for tag, pattern, first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?(?:0|[1-9][0-9]*|0[0-7]+|0o[0-7]+|0x[0-9a-fA-F]+))$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+0123456789.",
    ),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:merge", r"^(?:<<)$", "<"),
):
    _Loader.add_implicit_resolver(tag, re.compile(pattern), list(first))


def _int(loader: _Loader, node: ScalarNode) -> int:
    """go-yaml v3 resolves integers with Go's ``strconv.ParseInt(text, 0, 64)``: ``0x`` is hex,
    ``0o`` and a plain leading ``0`` are octal, so compose's ``mode: 0440`` is 288, as stack deploy reads it."""
    text = str(loader.construct_scalar(node))
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits.startswith("0o"):
        return sign * int(digits[2:], 8)
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(digits, 8)
    return sign * int(digits, 10)


_Loader.add_constructor("tag:yaml.org,2002:int", _int)


@dataclass(frozen=True)
class ComposeFile:
    """A parsed compose file: its path as given, the data and the position of each key (mapping
    entries) or item (sequence entries)."""

    file: str
    data: dict[str, Any]
    positions: dict[Path, tuple[int, int]] = field(repr=False)

    def where(self, path: Path) -> tuple[int, int] | None:
        """The line and column of ``path`` or of its nearest parent present in this file; None if
        not even the first key of ``path`` is in this file."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.positions:
                return self.positions[path[:end]]
        return None

    def has(self, path: Path) -> bool:
        return path in self.positions


class _Budget:
    """Values and characters of text still allowed in this file, alias expansions counted each time."""

    def __init__(self) -> None:
        self.nodes = MAX_NODES
        self.text = MAX_TEXT

    def charge(self, node: Node) -> None:
        self.nodes -= 1
        if isinstance(node, ScalarNode):
            self.text -= len(node.value)
        if self.nodes < 0 or self.text < 0:
            what = f"{MAX_NODES} values" if self.nodes < 0 else f"{MAX_TEXT // (1024 * 1024)} MiB of text"
            raise ComposerError(None, None, f"more than {what} (counting alias expansions): refused", node.start_mark)


def _refuse_duplicate_keys(node: MappingNode) -> None:
    """go-yaml v3, which docker stack deploy reads with, refuses a key written twice in one mapping
    ("mapping key "web" already defined at line 3"); PyYAML keeps the last. A key that a merge (``<<``)
    brings in may be written again: that overrides it, in both."""
    seen: dict[str, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        if key_node.value in seen:
            raise ComposerError(
                None,
                None,
                f'mapping key "{key_node.value}" already defined at line {seen[key_node.value]}',
                key_node.start_mark,
            )
        seen[key_node.value] = key_node.start_mark.line + 1


def _build(loader: _Loader, node: Node, path: Path, positions: dict[Path, tuple[int, int]], budget: _Budget) -> Any:
    budget.charge(node)
    if len(path) > MAX_DEPTH:  # an alias inside its own anchor (``a: &x {b: *x}``) nests without end
        raise ComposerError(
            None, None, f"nested deeper than {MAX_DEPTH} levels (an alias inside its anchor?)", node.start_mark
        )
    positions.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, MappingNode):
        _refuse_duplicate_keys(node)
        loader.flatten_mapping(node)  # merge keys, as SafeConstructor does
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            budget.charge(key_node)
            key = loader.construct_object(key_node, deep=True)
            text = str(key) if not isinstance(key, bool) else str(key).lower()
            # A key's place is where the key is written: "pids: 100" points at "pids".
            positions.setdefault((*path, text), (key_node.start_mark.line + 1, key_node.start_mark.column + 1))
            result[text] = _build(loader, value_node, (*path, text), positions, budget)
        return result
    if isinstance(node, SequenceNode):
        return [_build(loader, item, (*path, index), positions, budget) for index, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def parse_compose_yaml(text: str, file: str) -> ComposeFile:
    """Parse one compose file; ``ComposeYamlError`` (with file:line:column) when it is not YAML or
    its top level is not a mapping."""
    loader = _Loader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise ComposeYamlError(file, 1, 1, "the file is empty: a compose file is a mapping with services")
        if not isinstance(root, MappingNode):
            mark = root.start_mark
            raise ComposeYamlError(file, mark.line + 1, mark.column + 1, "the top level must be a mapping")
        positions: dict[Path, tuple[int, int]] = {}
        data = _build(loader, root, (), positions, _Budget())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
        raise ComposeYamlError(file, line, column, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise ComposeYamlError(file, 1, 1, f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return ComposeFile(file, data, positions)
