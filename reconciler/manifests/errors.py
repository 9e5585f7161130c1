"""Manifest problems as data: where (file, line, column), what (Kind/name, field) and why.

The loader and the cross-resource checks collect ``ManifestProblem`` values instead of raising on
the first one, so that one run reports everything; the CLI only formats them. Problems carry the
user's text raw (the JSON view escapes it itself); ``str()`` escapes control characters so that a
value can never forge a line or reach the terminal as an escape sequence. ``capped`` bounds how
many are listed, per file and per run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import total_ordering

__all__ = [
    "FILE_NOTE",
    "MAX_PROBLEMS",
    "MAX_PROBLEMS_PER_RUN",
    "NESTED_MORE",
    "RUN_NOTE",
    "ManifestError",
    "ManifestProblem",
    "ManifestWarning",
    "Position",
    "capped",
    "clip",
    "described",
    "dotted",
    "escape_control",
    "has_control",
    "shown",
]

# Context key of a pydantic error that carries further problems of the same validator, as
# ((path below the field, reason), ...): the loader reports each at its own place
# (e.g. every unknown option of a Middleware, not only the first).
NESTED_MORE = "nested_more"
MAX_PROBLEMS = 20  # per file: past that, one more line says how many were left out
MAX_PROBLEMS_PER_RUN = 200  # per run, except that every file with problems keeps its first one
FILE_NOTE = 1  # ManifestProblem.note: "... and N more problems in this file", after the file's problems
RUN_NOTE = 2  # ManifestProblem.note: the run's final note, after every file

# Bounds on each part of a problem, whatever produced it (a long key repeated through YAML aliases
# would otherwise multiply the output): far above anything a real manifest needs.
_MAX_SUBJECT = 200
_MAX_FIELD = 300
_MAX_MESSAGE = 1000

_ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in (*range(0x20), *range(0x7F, 0xA0))},  # C0, DEL, C1
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    # Not control characters, but they break lines (str.splitlines, editors) or reorder what a
    # terminal shows (bidirectional overrides: "Trojan Source").
    **{code: f"\\u{code:04x}" for code in (0x061C, 0x200E, 0x200F, *range(0x2028, 0x202F), *range(0x2066, 0x206A))},
}


# Unicode's control characters (category Cc): C0, DEL and C1. NEL (\x85) breaks a YAML line and
# several C1 codes are terminal escapes, so the C1 range is refused with the rest.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """Whether ``text`` holds a control character (newline, tab, NUL, DEL, C1, ...). A regex search,
    so a 1 MiB value is checked in about a millisecond."""
    return _CONTROL.search(text) is not None


def escape_control(text: str) -> str:
    """Control characters as ``\\n``, ``\\t``, ``\\xNN`` (``\\uNNNN`` for line and bidi controls);
    every other character, ``ü`` included, stays as it is."""
    return text.translate(_ESCAPES)


def clip(text: str, limit: int = 80) -> str:
    """``text``, or its first ``limit - 1`` characters and ``…`` when it is longer."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters: a message never repeats a whole
    long value (one 10 KB string behind 2000 YAML aliases would otherwise print 20 MB).
    Re-exported by ``reconciler.manifests.types`` for the models' validators."""
    return clip(repr(value), limit)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, int | float) else type(value).__name__


def described(value: object) -> str:
    """A value as a message names it: its type, with a plain value shown ("a string ('x')", "null"),
    for "expected a list, not a string ('x')"."""
    name = _type_name(value)
    if isinstance(value, bool):
        return f"{name} ({str(value).lower()})"
    if isinstance(value, str | int | float):
        return f"{name} ({shown(value)})"
    return name


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


@total_ordering
@dataclass(frozen=True, eq=True)
class ManifestProblem:
    """One thing wrong with the manifest set, in the ``file:line:column: Kind/name: field: message`` form.

    ``note`` marks the lines that only say how many problems were left out (``FILE_NOTE``,
    ``RUN_NOTE``); it is not printed, but it orders them after the problems they summarize.
    """

    position: Position
    subject: str = "-"  # "Kind/name", or "-" (not printed) where the document has no usable kind or name yet
    field_path: str = "-"  # "-" (not printed) when the problem is about a whole file or document
    message: str = ""
    note: int = 0

    def __post_init__(self) -> None:
        for name, limit in (("subject", _MAX_SUBJECT), ("field_path", _MAX_FIELD), ("message", _MAX_MESSAGE)):
            value = getattr(self, name)
            if len(value) > limit:
                object.__setattr__(self, name, clip(value, limit))

    def _key(self) -> tuple[bool, str, int, Position, str, str, str]:
        return (
            self.note == RUN_NOTE,
            self.position.file,
            self.note,
            self.position,
            self.subject,
            self.field_path,
            self.message,
        )

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, ManifestProblem):
            return NotImplemented
        return self._key() < other._key()

    def _parts(self) -> list[str]:
        """Position, object and field, leaving out those the problem has none of ("-")."""
        return [str(self.position), *(part for part in (self.subject, self.field_path) if part != "-")]

    def __str__(self) -> str:
        return escape_control(": ".join([*self._parts(), self.message]))


@total_ordering
@dataclass(frozen=True, eq=True)
class ManifestWarning(ManifestProblem):
    """Something legal that is almost surely not what was meant (a check weight that can never move
    a floating address, a route to a service no manifest declares). It does not stop a load:
    ``ManifestSet.warnings`` carries it, ``validate`` prints it and ``validate --strict`` fails on it.
    Printed ``file:line:column: warning: Kind/name: field: message``."""

    def __str__(self) -> str:
        position, *rest = self._parts()
        return escape_control(": ".join([position, "warning", *rest, self.message]))


@dataclass
class ManifestError(Exception):
    """Raised by the loader when any problem was found; it carries all of them, sorted (notes last),
    and the warnings found meanwhile."""

    problems: list[ManifestProblem] = field(default_factory=list)
    warnings: list[ManifestWarning] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.problems = sorted(self.problems)
        self.warnings = sorted(self.warnings)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def capped(problems: list[ManifestProblem], run: Position) -> list[ManifestProblem]:
    """The problems to list, sorted: each file's first ``MAX_PROBLEMS`` and a note for the rest, and at
    most ``MAX_PROBLEMS_PER_RUN`` in all, shared out so that every file keeps at least its first
    problem; a final note at ``run`` (the path the user named) says when that run cap cut anything."""
    by_file: dict[str, list[ManifestProblem]] = {}
    for problem in sorted(p for p in problems if not p.note):
        by_file.setdefault(problem.position.file, []).append(problem)
    wanted = {file: min(len(items), MAX_PROBLEMS) for file, items in by_file.items()}
    granted = dict.fromkeys(by_file, 0)
    budget = max(MAX_PROBLEMS_PER_RUN, len(by_file))
    while budget > 0 and any(granted[file] < wanted[file] for file in by_file):
        for file in by_file:  # one more for each file per round: fair, in file order
            if budget > 0 and granted[file] < wanted[file]:
                granted[file] += 1
                budget -= 1
    listed: list[ManifestProblem] = []
    for file, items in by_file.items():
        shown = items[: granted[file]]
        listed += shown
        if len(items) > len(shown):
            more = len(items) - len(shown)
            listed.append(
                ManifestProblem(shown[-1].position, "-", "-", f"... and {more} more problems in this file", FILE_NOTE)
            )
    if any(granted[file] < wanted[file] for file in by_file):
        hidden = sum(len(items) - granted[file] for file, items in by_file.items())
        listed.append(
            ManifestProblem(
                run,
                "-",
                "-",
                f"... {hidden} problems in all were left out: at most {MAX_PROBLEMS} per file and "
                f"{MAX_PROBLEMS_PER_RUN} per run are listed",
                RUN_NOTE,
            )
        )
    return listed


def dotted(path: tuple[str | int, ...]) -> str:
    """``("spec", "ports", 0, "target")`` to ``spec.ports[0].target``, as messages show field paths."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out or "-"
