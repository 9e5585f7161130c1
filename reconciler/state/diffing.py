"""Two essences (nested JSON-like values) to the list of fields that differ, for plans and drift.

Essences are already normalised (only managed fields, canonical units), so this is a plain
structural comparison. Lists are compared by position: the order of networks, mounts or ports is
part of what the user asked for. Called by the planner.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["MISSING", "FieldDiff", "diff_essences", "format_path"]


class _Missing:
    """A field present on one side only (distinct from an explicit ``None``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class FieldDiff:
    path: tuple[str | int, ...]
    before: Any  # the live value, or MISSING
    after: Any  # the desired value, or MISSING

    @property
    def field(self) -> str:
        return format_path(self.path)


def format_path(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "."


def diff_essences(before: Any, after: Any, path: tuple[str | int, ...] = ()) -> list[FieldDiff]:
    """Leaf-level differences, sorted by path within each mapping."""
    if isinstance(before, dict) and isinstance(after, dict):
        diffs: list[FieldDiff] = []
        for key in sorted(set(before) | set(after), key=str):
            diffs += diff_essences(before.get(key, MISSING), after.get(key, MISSING), (*path, key))
        return diffs
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        diffs = []
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            diffs += diff_essences(old, new, (*path, index))
        return diffs
    if before == after and type(before) is type(after):
        return []
    return [FieldDiff(path, before, after)]
