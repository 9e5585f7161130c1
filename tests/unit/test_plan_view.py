"""``print_plan`` prints the plan as one text of lines, without styles where none are written
(issue 18: one rich ``print`` a line cost ~0.1 ms, 50 ms for a few hundred objects not in the
manifests): the bytes are those of printing each styled line by itself, on a pipe, on a colour
terminal and where lines wrap. Against the in-memory swarm."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.text import Text

from reconciler.cli.plan_view import EventPrinter, plan_lines, print_plan
from reconciler.cli.styled import Line, Out
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once, reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired
from reconciler.state.plan import Action, Plan
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"


def service(name: str, replicas: int, env: dict[str, str]) -> dict[str, Any]:
    spec = {"image": "x:1", "replicas": replicas, "env": env, "networks": ["net"]}
    return {"apiVersion": API, "kind": "Service", "metadata": {"name": name}, "spec": spec}


def mixed_plan(tmp_path: Path) -> Plan:
    """Updates with field diffs, creates, and managed objects no longer in the manifests."""
    swarm = FakeSwarm()
    net = {"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}}
    first = [net, *(service(f"old-{i}", 1, {"A": "1"}) for i in range(5)), service("web", 1, {"A": "[b]1"})]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(first))
    reconcile_once(swarm, compile_desired(load_manifests(tmp_path), "t"), PlanOptions())
    second = [net, service("web", 3, {"A": "[b]2", "B": ":smile:"}), service("new", 1, {})]
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(second))
    return plan_once(swarm, compile_desired(load_manifests(tmp_path), "t"), PlanOptions())[1]


CONSOLES = {
    # as views.out_console makes them: on a pipe, and on a colour terminal
    "pipe": dict(markup=False, highlight=False, emoji=False, soft_wrap=True, width=4096),
    "terminal": dict(markup=False, highlight=False, emoji=False, soft_wrap=True, force_terminal=True,
                     color_system="truecolor", width=80),
    # a narrow console that wraps (tests and callers may pass any console)
    "wrapping": dict(width=30, force_terminal=True, color_system="256"),
}  # fmt: skip


@pytest.mark.parametrize("show_noop", [False, True])
@pytest.mark.parametrize("kind", sorted(CONSOLES))
def test_the_plan_prints_as_its_lines_printed_one_by_one(tmp_path: Path, kind: str, show_noop: bool) -> None:
    plan = mixed_plan(tmp_path)
    assert {c.action for c in plan.changes} >= {Action.UPDATE, Action.CREATE, Action.NOOP}
    lines = plan_lines(plan, show_noop)
    assert len(lines) >= (9 if show_noop else 7)  # five old services, web's diff, new, (web, net,) the summary
    at_once = Console(file=io.StringIO(), **CONSOLES[kind])  # type: ignore[arg-type]
    assert (at_once.color_system is None) is (kind == "pipe")  # the pipe's text goes without styles
    print_plan(Out(console=at_once), plan, show_noop)
    one_by_one = Console(file=io.StringIO(), **CONSOLES[kind])  # type: ignore[arg-type]
    for line in lines:
        one_by_one.print(line.to_text())
    assert at_once.file.getvalue() == one_by_one.file.getvalue()  # type: ignore[attr-defined]
    assert "[b]" in at_once.file.getvalue() and ":smile:" in at_once.file.getvalue()  # type: ignore[attr-defined]
    if kind == "pipe":  # what diff and apply print to a pipe: the characters, without rich
        piped = io.StringIO()
        print_plan(Out(piped), plan, show_noop)
        assert piped.getvalue() == one_by_one.file.getvalue()  # type: ignore[attr-defined]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.lists(st.tuples(st.text(), st.sampled_from(["", "dim", "bold red", "green", "yellow"])), max_size=4),
        max_size=6,
    )
)
def test_a_console_without_colours_writes_the_characters_of_styled_text(parts: list[list[tuple[str, str]]]) -> None:
    """What ``print_plan`` relies on where ``color_system`` is None: any text (tabs, control characters,
    markup-like brackets), styled or not, prints the same."""
    lines = [Text() for _ in parts]
    for line, pieces in zip(lines, parts, strict=True):
        for text, style in pieces:
            line.append(text, style=style)
    joined = Text("\n").join(lines)
    styled, plain = (Console(file=io.StringIO(), **CONSOLES["pipe"]) for _ in range(2))  # type: ignore[arg-type]
    styled.print(joined)
    plain.print(Text(joined.plain))
    assert styled.color_system is None
    assert styled.file.getvalue() == plain.file.getvalue()  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.text(), st.sampled_from(["", "dim", "bold red", "green", "yellow"])), max_size=5))
def test_progress_lines_on_a_console_without_colours_are_the_bytes_rich_prints(
    pieces: list[tuple[str, str]],
) -> None:
    """``EventPrinter`` writes a line's characters itself where no styles are written (a pipe): any text
    (tabs, control characters, brackets, newlines) comes out as rich's own ``print`` writes it."""
    line = Line()
    for text, style in pieces:
        line.append(text, style=style)
    ours = Out(io.StringIO())
    assert ours.plain  # a StringIO is no terminal (and the tests run without FORCE_COLOR)
    EventPrinter(ours)._line(line)
    theirs = Console(file=io.StringIO(), **CONSOLES["pipe"])  # type: ignore[arg-type]
    theirs.print(line.to_text(), soft_wrap=True)
    assert ours.file.getvalue() == theirs.file.getvalue()  # type: ignore[attr-defined]
