"""``cli.styled``: off a terminal, ``diff`` and ``apply`` write their lines' characters without rich, and
the bytes are the ones rich writes there; on a terminal (or where rich is told to style, FORCE_COLOR)
rich renders them as before (issue 18)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from rich.control import STRIP_CONTROL_CODES as RICH_STRIPS
from rich.text import Text

from reconciler.cli.styled import PIPE_WIDTH, STRIP_CONTROL_CODES, Line, Out, may_style

STYLES = st.sampled_from(["", "dim", "bold red", "green", "yellow"])
LINES = st.lists(
    st.tuples(st.text(), STYLES, st.lists(st.tuples(st.text(), STYLES), max_size=3)), min_size=1, max_size=5
)
PIPE = dict(markup=False, highlight=False, emoji=False, soft_wrap=True, width=PIPE_WIDTH)


def made(spec: list[tuple[str, str, list[tuple[str, str]]]]) -> list[Line]:
    lines = []
    for text, style, pieces in spec:
        line = Line(text, style)
        for piece, piece_style in pieces:
            line.append(piece, piece_style)
        lines.append(line)
    return lines


def rich_text(spec: list[tuple[str, str, list[tuple[str, str]]]]) -> Text:
    """The lines as plan_view built them with rich before: Text(text, style).append(piece, style)."""
    texts = []
    for text, style, pieces in spec:
        line = Text(text, style=style)
        for piece, piece_style in pieces:
            line.append(piece, style=piece_style)
        texts.append(line)
    return texts[0] if len(texts) == 1 else Text("\n").join(texts)


@pytest.fixture
def terminal() -> Iterator[io.TextIOWrapper]:
    """A real terminal (a pseudo-terminal's far end)."""
    controller, device = os.openpty()
    file = open(device, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    try:
        yield file
    finally:
        file.close()
        os.close(controller)


def test_the_control_codes_dropped_are_richs() -> None:
    assert sorted(STRIP_CONTROL_CODES) == sorted(RICH_STRIPS)


@settings(max_examples=300, deadline=None)
@given(LINES)
def test_off_a_terminal_the_lines_are_the_bytes_rich_writes(spec: list[tuple[str, str, list[tuple[str, str]]]]) -> None:
    """Any text (tabs, control characters, brackets, newlines), styled or not, one line or several."""
    ours = Out(io.StringIO())
    assert ours.plain
    ours.print(made(spec))
    theirs = Console(file=io.StringIO(), **PIPE)  # type: ignore[arg-type]
    theirs.print(rich_text(spec))
    assert ours.file.getvalue() == theirs.file.getvalue()  # type: ignore[attr-defined]


@settings(max_examples=100, deadline=None)
@given(LINES)
def test_on_a_colour_console_the_bytes_are_richs_styled_text(
    spec: list[tuple[str, str, list[tuple[str, str]]]],
) -> None:
    options = dict(markup=False, highlight=False, emoji=False, soft_wrap=True, force_terminal=True, width=80)
    ours = Out(console=Console(file=io.StringIO(), color_system="truecolor", **options))  # type: ignore[arg-type]
    assert not ours.plain
    ours.print(made(spec))
    theirs = Console(file=io.StringIO(), color_system="truecolor", **options)  # type: ignore[arg-type]
    theirs.print(rich_text(spec))
    assert ours.file.getvalue() == theirs.file.getvalue()  # type: ignore[attr-defined]


def test_a_pipe_is_plain_and_a_terminal_gets_colours(
    terminal: io.TextIOWrapper, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert not may_style(io.StringIO())
    assert may_style(terminal)
    out = Out(terminal)
    assert not out.plain and out.console.color_system is not None


@pytest.mark.parametrize(("name", "value", "styled"), [("FORCE_COLOR", "1", True), ("FORCE_COLOR", "", False),
                                                       ("TTY_COMPATIBLE", "1", True)])  # fmt: skip
def test_where_rich_is_told_to_style_rich_decides(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, styled: bool
) -> None:
    """FORCE_COLOR or TTY_COMPATIBLE on a pipe: rich is asked, and writes colours when it says so."""
    monkeypatch.setenv(name, value)
    assert may_style(io.StringIO())
    out = Out(io.StringIO())
    out.print([Line("x", "red")])
    assert out.plain is not styled
    assert ("\x1b[" in out.file.getvalue()) is styled  # type: ignore[attr-defined]


def test_a_dumb_terminal_gets_the_characters_only(terminal: io.TextIOWrapper, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("TERM", "dumb")
    assert Out(terminal).plain
