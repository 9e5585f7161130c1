"""A validated document's value positions → a compact mapping that many documents share the shape of.

The YAML builder (``yaml_source``) records, per document, the 1-based (line, column) of every value by
its field path: a dict of path tuples to pairs, ~190 bytes a value. A validated manifest keeps those
positions as long as it is loaded (the manifest set, the controller's parse cache), only for messages
that point into the file; at 1,000 manifests that was ~2.2 MiB held between passes (issue 18).

``Positions`` holds the same mapping as a ``Layout`` (the paths, in document order, with an index
built on the first lookup) and one ``array`` of packed places. Documents of the same shape (the
same paths in the same order: the usual case for manifests of one kind, written alike) share one
layout through a ``Layouts`` table the loader keeps for one load, so each further document costs
its array only. Lookups and iteration answer exactly as the dict did (``tests/unit/test_positions.py``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping

__all__ = ["Layout", "Layouts", "Positions"]

FieldPath = tuple[str | int, ...]  # as ``yaml_source.FieldPath`` (which imports this module)

_COLUMN_BITS = 32  # a line or column of a file of at most 1 MiB fits in 32 bits; both fit one "Q"
_COLUMN_MASK = (1 << _COLUMN_BITS) - 1


class Layout:
    """The field paths of one document shape, in document order; their index is built when first asked."""

    __slots__ = ("_index", "paths")

    def __init__(self, paths: tuple[FieldPath, ...]) -> None:
        self.paths = paths
        self._index: dict[FieldPath, int] | None = None

    def find(self, path: FieldPath) -> int | None:
        if self._index is None:
            self._index = {p: i for i, p in enumerate(self.paths)}
        return self._index.get(path)


class Layouts:
    """Layouts by their paths, shared by the documents of one load (bounded by that load's documents)."""

    def __init__(self) -> None:
        self._by_paths: dict[tuple[FieldPath, ...], Layout] = {}

    def of(self, paths: tuple[FieldPath, ...]) -> Layout:
        found = self._by_paths.get(paths)
        if found is None:
            found = self._by_paths[paths] = Layout(paths)
        return found

    def __len__(self) -> int:
        return len(self._by_paths)


class Positions(Mapping[FieldPath, tuple[int, int]]):
    """Field path → (line, column), read-only; equal to the dict it was made from."""

    __slots__ = ("_layout", "_places")

    def __init__(self, found: Mapping[FieldPath, tuple[int, int]], layouts: Layouts | None = None) -> None:
        paths = tuple(found)
        self._layout = (layouts if layouts is not None else Layouts()).of(paths)
        self._places = array("Q", [(line << _COLUMN_BITS) | column for line, column in found.values()])

    def __getitem__(self, path: FieldPath) -> tuple[int, int]:
        index = self._layout.find(path)
        if index is None:
            raise KeyError(path)
        packed = self._places[index]
        return packed >> _COLUMN_BITS, packed & _COLUMN_MASK

    def __iter__(self) -> Iterator[FieldPath]:
        return iter(self._layout.paths)

    def __len__(self) -> int:
        return len(self._places)

    def __repr__(self) -> str:
        return f"Positions({dict(self)!r})"
