"""Rendering for people (rich, no markup interpretation of user strings) and for machines (JSON).

Problems print as ``str(problem)``, which escapes control characters; the JSON view keeps the raw
values, which ``json.dumps`` escapes itself. rich is imported when a console is made: a ``diff`` or
``apply`` off a terminal prints through ``cli.styled`` without it (issue 18).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from reconciler.cli.styled import make_console
from reconciler.manifests.errors import ManifestProblem, ManifestWarning

if TYPE_CHECKING:
    from rich.console import Console

__all__ = [
    "err_console",
    "out_console",
    "print_error",
    "print_json",
    "print_problems",
    "print_warnings",
    "problems_as_json",
    "warnings_as_json",
]


def out_console() -> Console:
    return make_console(sys.stdout)


def err_console() -> Console:
    return make_console(sys.stderr)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def print_error(message: str, output: str, code: int) -> None:
    """An error that ends a command: on stderr for people; with ``-o json`` also as the one JSON
    document on stdout, ``{"error": <the sentence>, "exit_code": <code>}``, so that a script reading
    stdout gets JSON on every path (a newcomer got nothing there when the engine was down)."""
    if output == "json":
        print_json({"error": message.removeprefix("error: "), "exit_code": code})
    err_console().print(message, style="red")


def problems_as_json(problems: list[ManifestProblem]) -> list[dict[str, Any]]:
    """Raw values, not ``str(problem)``: JSON escapes control characters itself. A problem about a
    whole file or document has ``null`` object and field."""
    return [
        {
            "file": p.position.file,
            "line": p.position.line,
            "column": p.position.column,
            "object": None if p.subject == "-" else p.subject,
            "field": None if p.field_path == "-" else p.field_path,
            "message": p.message,
        }
        for p in problems
    ]


def warnings_as_json(warnings: list[ManifestWarning]) -> list[dict[str, Any]]:
    return problems_as_json(list(warnings))


def print_warnings(warnings: list[ManifestWarning]) -> None:
    """``file:line:column: warning: Kind/name: field: message`` on stderr, one a line."""
    console = err_console()
    for warning in warnings:
        console.print(str(warning), style="yellow")


def print_problems(problems: list[ManifestProblem], output: str, warnings: Sequence[ManifestWarning] = ()) -> None:
    """The problems (text: on stderr, then their count). Warnings found beside them are in the JSON
    view only: the text view shows them once the problems are fixed."""
    if output == "json":
        print_json(
            {"valid": False, "problems": problems_as_json(problems), "warnings": warnings_as_json(list(warnings))}
        )
        return
    console = err_console()
    for problem in problems:
        console.print(str(problem), style="red")
    console.print(f"{len(problems)} problem(s) found.", style="bold red")
