"""Manifest problems as data: where (file, line, column), what (Kind/name, field) and why.

The loader and the cross-resource checks collect ``ManifestProblem`` values instead of raising on
the first one, so that one run reports everything; the CLI only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ManifestError", "ManifestProblem", "Position", "dotted"]


@dataclass(frozen=True, order=True)
class Position:
    """A place in a source file; line and column are 1-based as editors show them."""

    file: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, order=True)
class ManifestProblem:
    """One thing wrong with the manifest set, in the ``file:line:column: Kind/name: field: message`` form."""

    position: Position
    subject: str = "-"  # "Kind/name", or "-" where the document has no usable kind or name yet
    field_path: str = "-"
    message: str = ""

    def __str__(self) -> str:
        return f"{self.position}: {self.subject}: {self.field_path}: {self.message}"


@dataclass
class ManifestError(Exception):
    """Raised by the loader when any problem was found; it carries all of them, sorted."""

    problems: list[ManifestProblem] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems = sorted(self.problems)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def dotted(path: tuple[str | int, ...]) -> str:
    """``("spec", "ports", 0, "target")`` to ``spec.ports[0].target``, as messages show field paths."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "-"
