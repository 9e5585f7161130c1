"""Rendering for people (rich, no markup interpretation of user strings) and for machines (JSON).

Problems print as ``str(problem)``, which escapes control characters; the JSON view keeps the raw
values, which ``json.dumps`` escapes itself.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

from reconciler.manifests.errors import ManifestProblem

__all__ = ["err_console", "out_console", "print_json", "print_problems"]


# Not on a terminal (CI logs, pipes), lines are never wrapped or cut: tables take the width they need.
_PIPE_WIDTH = 4096


def out_console() -> Console:
    # markup/highlight/emoji off: manifest values and labels must print exactly as they are
    # (with emoji on, a key such as `:smile:` would print as a smiley).
    width = None if sys.stdout.isatty() else _PIPE_WIDTH
    return Console(file=sys.stdout, markup=False, highlight=False, emoji=False, soft_wrap=True, width=width)


def err_console() -> Console:
    width = None if sys.stderr.isatty() else _PIPE_WIDTH
    return Console(file=sys.stderr, markup=False, highlight=False, emoji=False, soft_wrap=True, width=width)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def problems_as_json(problems: list[ManifestProblem]) -> list[dict[str, Any]]:
    """Raw values, not ``str(problem)``: JSON escapes control characters itself."""
    return [
        {
            "file": p.position.file,
            "line": p.position.line,
            "column": p.position.column,
            "object": p.subject,
            "field": p.field_path,
            "message": p.message,
        }
        for p in problems
    ]


def print_problems(problems: list[ManifestProblem], output: str) -> None:
    if output == "json":
        print_json({"valid": False, "problems": problems_as_json(problems)})
        return
    console = err_console()
    for problem in problems:
        console.print(str(problem), style="red")
    console.print(f"{len(problems)} problem(s) found.", style="bold red")
