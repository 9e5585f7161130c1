"""The loader bounds what YAML aliases can amplify: characters of text as well as values, per file and
across the files of one revision, refused in milliseconds with ``file:line`` at the value that went
over (``reconciler.manifests.yaml_source``).

Issue 14: a 503 KB file defining one 500,000-character string and reusing it 1,000 times passed the
value-count cap; ``validate`` took 49 s, and through Git it held the controller's loop for 43 s.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.yaml_source import MAX_REVISION_BYTES, RevisionBudget, parse_yaml
from reconciler.runtime.manifest_source import ManifestSource, Refused
from tests.unit.validation_helpers import SERVICE_WEB, only_problem, run, write

BIG = "x" * 500_000


# Expanding the aliases took 49 s for 1,000 copies and over 120 s for 5,000; a refusal takes
# milliseconds. The bound tells the two apart with room for a loaded 2-core CI machine (no speed goal:
# those are checked by bench/).
EXPANDING_TAKES_S = 5.0


def amplified(copies: int, text: str = BIG) -> str:
    """A Service whose annotation holds ``text`` once and whose command reuses it ``copies`` times."""
    return (
        SERVICE_WEB.replace("  name: web\n", f"  name: web\n  annotations: {{note: &a {text}}}\n")
        + "  command: ["
        + ", ".join(["*a"] * copies)
        + "]\n"
    )  # the annotation is on line 5, command on line 8


@pytest.mark.parametrize("copies", [1_000, 5_000])
def test_a_string_reused_through_aliases_is_refused_in_well_under_a_second(tmp_path: Path, copies: int) -> None:
    name = write(tmp_path, "web.yaml", amplified(copies))
    assert Path(name).stat().st_size < 1024 * 1024  # small on disk: only the expansion is big
    started = time.monotonic()
    result = run(tmp_path)
    elapsed = time.monotonic() - started
    line = only_problem(result)
    # With the anchored value itself, the 8th copy goes over 4 MiB: its alias (line 8, after
    # "  command: [" and 7 "*a, ") is named.
    assert line.startswith(f"{name}:8:41: spec.command[7]: more than 4 MiB of text (counting alias expansions)")
    assert elapsed < EXPANDING_TAKES_S, f"took {elapsed:.2f} s"


def test_text_under_the_bound_still_loads(tmp_path: Path) -> None:
    write(tmp_path, "web.yaml", amplified(7))  # 4 MB after expansion, the anchored value included
    (service,) = load_manifests(tmp_path)
    assert service.spec.command == [BIG] * 7  # type: ignore[attr-defined]


def test_a_revision_over_its_text_bound_is_refused_and_the_rest_not_read(tmp_path: Path) -> None:
    """Each file is under 4 MiB; together they pass the revision's 8 MiB."""
    text = "y" * 900_000
    names = [write(tmp_path, f"{i}.yaml", amplified(3, text).replace("name: web", f"name: web{i}")) for i in range(4)]
    write(tmp_path, "9.yaml", "kind: Nonsense\n")  # never read: the revision was refused before it
    started = time.monotonic()
    with pytest.raises(ManifestError) as caught:
        load_manifests(tmp_path)
    assert time.monotonic() - started < EXPANDING_TAKES_S
    (problem,) = caught.value.problems
    assert problem.position.file == names[2]  # 3 × 3.6 MB: the third file goes over
    assert problem.position.line >= 1
    assert "the revision holds more than 8 MiB of text in all its files" in problem.message


def test_a_revision_over_its_byte_bound_is_refused(tmp_path: Path) -> None:
    comment = ("#" + "c" * 1000 + "\n") * 1000  # 1 MB of comments: no values, no text
    count = MAX_REVISION_BYTES // len(comment) + 1
    for i in range(count):
        write(tmp_path, f"{i:02d}.yaml", comment)
    with pytest.raises(ManifestError) as caught:
        load_manifests(tmp_path)
    (problem,) = caught.value.problems
    assert problem.position.file.endswith(f"{count - 1:02d}.yaml")
    assert "the revision's files hold more than 16 MiB" in problem.message


def test_the_revision_budget_counts_values_and_text_across_files() -> None:
    budget = RevisionBudget(nodes=100, text=10_000)
    docs, problems = parse_yaml(b"a: [" + b"1," * 59 + b"1]\n", "one.yaml", budget)
    assert docs and not problems and budget.nodes == 100 - 62  # the mapping, its key's value list, 60 items
    docs, problems = parse_yaml(b"b: [" + b"2," * 59 + b"2]\n", "two.yaml", budget)
    assert not docs and budget.ran_out
    (problem,) = problems
    assert str(problem).startswith("two.yaml:1:")
    assert "the revision holds more than 250000 values" in problem.message
    budget = RevisionBudget(text=1_000)
    _, problems = parse_yaml(b"a: &a " + b"z" * 600 + b"\nb: *a\n", "t.yaml", budget)
    assert [str(p) for p in problems] == [
        "t.yaml:2:1: b: the revision holds more than 8 MiB of text in all its files "
        "(counting alias expansions): refused"
    ]


def test_the_controller_refuses_such_a_revision_at_once(tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    name = write(folder, "web.yaml", amplified(1_000))
    started = time.monotonic()
    loaded = ManifestSource(folder, "reconciler").load()
    assert time.monotonic() - started < EXPANDING_TAKES_S
    assert isinstance(loaded, Refused)
    assert loaded.problems[0].startswith(f"{name}:8:41: ")
