"""How ``reconciler validate`` reports problems: user text in a problem line is escaped so that it cannot
forge or break a line; all problems of all files come sorted, capped per file and per run; ``-o json``
lists the same problems with raw values; and the ``reconciler`` command group gives the same output
without a traceback.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli.app import cli
from reconciler.manifests.errors import MAX_PROBLEMS, MAX_PROBLEMS_PER_RUN, ManifestProblem, Position
from reconciler.manifests.types import NAME_PATTERN
from tests.unit.validation_helpers import (
    BILLION_LAUGHS,
    HEAD,
    KIND_LIST,
    REPO,
    only_problem,
    problem_lines,
    run,
    runner,
    write,
)


class TestProblemTextIsEscaped:
    @pytest.mark.parametrize(
        ("document", "expected"),
        [
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: "x\\n/etc/passwd:1:1: forged"\n',
                "4:3: Network/x\\n/etc/passwd:1:1: forged: metadata.name: "
                f"'x\\n/etc/passwd:1:1: forged' does not match the pattern {NAME_PATTERN}",
            ),
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: "x\\e[2J\\e[31m"\n',
                f"4:3: Network/x\\x1b[2J\\x1b[31m: metadata.name: 'x\\x1b[2J\\x1b[31m' does not match the pattern {NAME_PATTERN}",
            ),
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  "bad\\nkey": 1\n',
                "6:3: Network/a: spec.bad\\nkey: unknown field",
            ),
            (
                f'{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  "\\x85\\u2028\\u202e\\x9b\\x07ü": 1\n',
                "6:3: Network/a: spec.\\x85\\u2028\\u202e\\x9b\\x07ü: unknown field",
            ),
        ],
        ids=["newline-in-name", "escape-in-name", "newline-in-key", "c1-line-and-bidi-controls"],
    )
    def test_user_text_in_subject_or_field_cannot_break_the_line(
        self, tmp_path: Path, document: str, expected: str
    ) -> None:
        f = write(tmp_path, "a.yaml", document)
        result = run(tmp_path)
        assert only_problem(result) == f"{f}:{expected}"  # exactly one line, control characters escaped
        assert "\x1b" not in result.stderr

    def test_json_output_keeps_the_raw_values(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", f'{HEAD}kind: Network\nmetadata:\n  name: "x\\n\\e[31m"\nspec:\n  "k\\tü": 1\n')
        result = run(tmp_path, output="json")
        assert result.exit_code == 1
        assert "\x1b" not in result.stdout  # JSON escapes it (as \u001b)
        problems = json.loads(result.stdout)["problems"]
        assert [(p["object"], p["field"], p["message"]) for p in problems] == [
            ("Network/x\n\x1b[31m", "metadata.name", f"'x\\n\\x1b[31m' does not match the pattern {NAME_PATTERN}"),
            ("Network/x\n\x1b[31m", "spec.k\tü", "unknown field"),
        ]

    def test_text_that_looks_like_rich_markup_or_emoji_prints_as_is(self, tmp_path: Path) -> None:
        f = write(
            tmp_path, "a.yaml", f'{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n  ":smile: [red]x[/red]": 1\n'
        )
        assert only_problem(run(tmp_path)) == f"{f}:6:3: Network/a: spec.:smile: [red]x[/red]: unknown field"

    def test_problem_text_escapes_control_characters_only(self) -> None:
        problem = ManifestProblem(Position("a\nb.yaml", 1, 2), "Network/ü\r", "x\x00\x7f", "tab\there \x9b é \\n")
        assert str(problem) == "a\\nb.yaml:1:2: Network/ü\\r: x\\x00\\x7f: tab\\there \\x9b é \\n"
        assert problem.subject == "Network/ü\r"  # the data stays raw


def _broken_tree(root: Path) -> list[str]:
    """Several broken files; returns the expected problem lines in their sorted order."""
    a = write(
        root,
        "a.yaml",
        f"{HEAD}kind: Network\nmetadata:\n  name: Bad.Name\n---\n{HEAD}kind: Network\nmetadata:\n"
        "  name: ok\nspec:\n  attachable: true\n  colour: blue\n",
    )  # problems on lines 4 and 12: sorted as numbers, not as text
    c = write(root, "c.yml", f"{HEAD}kind: Gadget\nmetadata:\n  name: g\n")
    b = write(root, "sub/b.yaml", "apiVersion: [unclosed\n")
    write(root, ".hidden.yaml", "[also broken but skipped\n")
    return [
        f"{a}:4:3: Network/Bad.Name: metadata.name: 'Bad.Name' does not match the pattern ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        f"{a}:12:3: Network/ok: spec.colour: unknown field",
        f"{c}:2:1: Gadget/g: kind: unknown kind 'Gadget': expected one of {KIND_LIST}",
        f"{b}:2:1: invalid YAML: did not find expected ',' or ']'",
    ]


class TestReporting:
    def test_all_problems_of_all_files_are_reported_sorted(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = run(tmp_path)
        assert problem_lines(result) == expected
        assert ".hidden" not in result.stderr

    def test_problems_per_file_are_capped(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            "".join(f"{HEAD}kind: Network\nmetadata:\n  name: n{i}\n  name: x\n---\n" for i in range(25)),
        )
        lines = problem_lines(run(tmp_path))
        assert len(lines) == 21
        assert lines[0] == f"{f}:5:3: metadata.name: duplicate key 'name'"
        # the note takes the position of the 20th problem shown (document 20, line 5)
        assert f"{f}:119:3: ... and 5 more problems in this file" in lines

    def test_capped_note_comes_last(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            "".join(f"{HEAD}kind: Network\nmetadata:\n  name: n{i}\n  name: x\n---\n" for i in range(25)),
        )
        lines = problem_lines(run(tmp_path))
        assert lines[-2] == f"{f}:119:3: metadata.name: duplicate key 'name'"
        assert lines[-1] == f"{f}:119:3: ... and 5 more problems in this file"

    def test_validation_problems_are_capped_per_file_too(self, tmp_path: Path) -> None:
        f = write(
            tmp_path,
            "a.yaml",
            f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n" + "".join(f"  x{i:02}: 1\n" for i in range(30)),
        )
        lines = problem_lines(run(tmp_path))
        assert lines[0] == f"{f}:6:3: Network/a: spec.x00: unknown field"
        assert lines[MAX_PROBLEMS - 1] == f"{f}:25:3: Network/a: spec.x19: unknown field"
        assert lines[MAX_PROBLEMS:] == [f"{f}:25:3: ... and 10 more problems in this file"]

    def test_problems_per_run_are_capped_but_every_file_keeps_its_first(self, tmp_path: Path) -> None:
        bad = f"{HEAD}kind: Network\nmetadata:\n  name: a\nspec:\n" + "".join(f"  x{i:02}: 1\n" for i in range(25))
        files = [write(tmp_path, f"f{n:02}.yaml", bad) for n in range(15)]  # 15 x 25 = 375 problems
        lines = problem_lines(run(tmp_path))
        # 200 shared out in file order: 14 each for the first 5 files, 13 for the other 10
        for n, f in enumerate(files):
            mine = [line for line in lines if line.startswith(f"{f}:")]
            shown = 14 if n < 5 else 13
            assert len(mine) == shown + 1
            assert mine[0] == f"{f}:6:3: Network/a: spec.x00: unknown field"
            assert mine[-1] == f"{f}:{5 + shown}:3: ... and {25 - shown} more problems in this file"
        assert len(lines) == MAX_PROBLEMS_PER_RUN + 15 + 1
        assert lines[-1] == (
            f"{tmp_path}:1:1: ... 175 problems in all were left out: "
            f"at most {MAX_PROBLEMS} per file and {MAX_PROBLEMS_PER_RUN} per run are listed"
        )

    def test_every_file_is_reported_even_past_the_run_cap(self, tmp_path: Path) -> None:
        files = [
            write(tmp_path, f"f{n:03}.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: n{n}\nspec:\n  x: 1\n")
            for n in range(MAX_PROBLEMS_PER_RUN + 10)
        ]
        lines = problem_lines(run(tmp_path))
        assert lines == [f"{f}:6:3: Network/n{n}: spec.x: unknown field" for n, f in enumerate(files)]

    def test_json_output_lists_every_problem(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = run(tmp_path, output="json")
        assert result.exit_code == 1
        report = json.loads(result.stdout)
        assert report["valid"] is False
        problems = report["problems"]
        assert all(set(p) == {"file", "line", "column", "object", "field", "message"} for p in problems)
        as_text = [
            ": ".join(
                [f"{p['file']}:{p['line']}:{p['column']}", *(x for x in (p["object"], p["field"]) if x), p["message"]]
            )
            for p in problems
        ]
        assert as_text == expected
        assert problems[1] == {
            "file": str(tmp_path / "a.yaml"),
            "line": 12,
            "column": 3,
            "object": "Network/ok",
            "field": "spec.colour",
            "message": "unknown field",
        }

    def test_json_output_for_a_missing_path(self, tmp_path: Path) -> None:
        result = run(tmp_path / "nope", output="json")
        assert result.exit_code == 2  # a usage error, not an invalid manifest
        assert json.loads(result.stdout) == {
            "error": f"no such file or folder: {tmp_path / 'nope'} (PATH is the manifest folder, or one manifest file)",
            "exit_code": 2,
        }


class TestThroughTheCommandGroup:
    def test_global_json_option(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = runner().invoke(cli, ["-o", "json", "validate", str(tmp_path)])
        assert result.exit_code == 1, result.output
        problems = json.loads(result.stdout)["problems"]
        assert [
            ": ".join(
                [f"{p['file']}:{p['line']}:{p['column']}", *(x for x in (p["object"], p["field"]) if x), p["message"]]
            )
            for p in problems
        ] == expected

    def test_text_output(self, tmp_path: Path) -> None:
        expected = _broken_tree(tmp_path)
        result = runner().invoke(cli, ["validate", str(tmp_path)])
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [*expected, f"{len(expected)} problem(s) found."]

    @pytest.mark.parametrize(
        "content",
        [BILLION_LAUGHS.encode(), b"[" * 100_000, random.Random(7).randbytes(4096), "café: x\n".encode("latin-1")],
        ids=["bomb", "nesting", "garbage", "latin-1"],
    )
    def test_no_traceback_from_the_real_command(self, tmp_path: Path, content: bytes) -> None:
        write(tmp_path, "a.yaml", content)
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "validate", str(tmp_path)],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr + done.stdout
        assert done.stderr.startswith(f"{tmp_path}/a.yaml:1:")
