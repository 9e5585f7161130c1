"""Helpers for the ``reconciler validate`` bad-input tests (``tests/unit/test_validate_*.py``).

Those tests write manifests into ``tmp_path``, invoke the ``validate`` click command directly (``run``)
and compare its problem lines ``file:line:column: Kind/name: field: message`` (``problem_lines``,
``only_problem``, ``check``). The loader bugs they found are fixed; a new one is marked
``xfail(strict=True)`` with the bug as its reason until it is fixed. The manifest snippets here are
shared by several of those files; each notes the line its fields start on, since the tests assert
positions. ``tests/conftest.py`` registers this module for pytest's assertion rewriting.
"""

from __future__ import annotations

import inspect
import os
import textwrap
from pathlib import Path

from click.testing import CliRunner, Result

from reconciler import API_VERSION
from reconciler.cli.context import Settings
from reconciler.cli.validate import validate

REPO = Path(__file__).resolve().parents[2]
KIND_LIST = "Network, Volume, Config, Secret, Service, Middleware, Route, VirtualIP"
HEAD = f"apiVersion: {API_VERSION}\n"


def runner() -> CliRunner:
    # click < 8.2 mixes stderr into stdout unless told otherwise; 8.2+ keeps them apart by default.
    if "mix_stderr" in inspect.signature(CliRunner).parameters:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    return CliRunner()


def write(root: Path, name: str, text: str | bytes) -> str:
    """Write one file below ``root``; text is dedented. Returns the name validate shows for it."""
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return os.path.join(str(root), name)


def run(path: Path | str, output: str = "text") -> Result:
    """Invoke ``validate PATH``; fail on any exception other than click's exit, or a traceback."""
    settings = Settings(docker_host=None, instance="reconciler", output=output)
    result = runner().invoke(validate, [str(path)], obj=settings)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"validate raised {result.exception!r}") from result.exception
    assert "Traceback" not in result.stdout
    assert "Traceback" not in result.stderr
    return result


def problem_lines(result: Result) -> list[str]:
    """The problem lines of a failed text-mode run; checks exit 1 and the summary line's count."""
    assert result.exit_code == 1, (result.exit_code, result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines, "no problem printed"
    assert lines[-1] == f"{len(lines) - 1} problem(s) found."
    return lines[:-1]


def only_problem(result: Result) -> str:
    lines = problem_lines(result)
    assert len(lines) == 1, lines
    return lines[0]


def head(file: str, line: int, column: int, subject: str, field: str) -> str:
    """The start of a problem line; an object or field of "-" (none) is not printed."""
    return ": ".join([f"{file}:{line}:{column}", *(part for part in (subject, field) if part != "-"), ""])


def check(line: str, file: str, row: int, column: int, subject: str, field: str, *fragments: str) -> None:
    prefix = head(file, row, column, subject, field)
    assert line.startswith(prefix), f"{line!r} does not start with {prefix!r}"
    for fragment in fragments:
        assert fragment in line[len(prefix) :], f"{fragment!r} not in {line!r}"


SERVICE_WEB = f"""\
{HEAD}kind: Service
metadata:
  name: web
spec:
  image: nginx:1.27
"""  # lines 1-6; spec fields start on line 7


def check_service_problem(root: Path, spec_text: str, row: int, column: int, field: str, *fragments: str) -> None:
    """Validate ``SERVICE_WEB`` plus ``spec_text`` (its spec fields, from line 7) and ``check`` its only problem."""
    f = write(root, "s.yaml", SERVICE_WEB + spec_text)
    check(only_problem(run(root)), f, row, column, "Service/web", field, *fragments)


ROUTE = f"{HEAD}kind: Route\nmetadata:\n  name: web\nspec:\n  service: web\n  port: 80\n"  # spec fields on 8+


def vip(name: str, router_id: int, address: str, interface: str = "eth0") -> str:
    return (
        f"{HEAD}kind: VirtualIP\nmetadata:\n  name: {name}\nspec:\n"
        f"  addresses: [{address}]\n  interface: {interface}\n  routerId: {router_id}\n"
    )  # 8 lines: addresses on 6, interface on 7, routerId on 8


BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""
