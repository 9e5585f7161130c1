"""Styled lines for people (``Line``), and the stream they go to (``Out``): rich renders them where it
may write styles (a terminal, ``FORCE_COLOR``, ``TTY_COMPATIBLE``, Jupyter); anywhere else (a pipe, a
file, a CI log, the bench) their characters are written as rich writes them without colours, and
rich is never imported: it was ~15 ms of a 0.23 s ``diff`` or no-op ``apply`` (issue 18).

``plan_view`` builds a plan's lines and apply's progress as ``Line`` values; ``diff`` and ``apply`` make
an ``Out`` for stdout (or stderr under ``-o json``). A ``Line`` is a base style and styled pieces, as
``rich.text.Text(text, style).append(piece, style)`` makes them, so that a terminal gets the same
bytes as before. The characters written without styles are rich's: ``Text`` drops the control
codes ``STRIP_CONTROL_CODES``, and a line with a tab goes through rich (which expands tabs to the
cell widths of what precedes them) — ``tests/unit/test_styled_lines.py`` compares both with rich.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

__all__ = ["STRIP_CONTROL_CODES", "Line", "Out", "err_out", "make_console", "may_style", "out_out"]

# rich.control.STRIP_CONTROL_CODES (bell, backspace, vertical tab, form feed, carriage return): the
# characters rich's Text removes from what it is given (a test keeps the two the same).
STRIP_CONTROL_CODES = (7, 8, 11, 12, 13)
_STRIP = dict.fromkeys(STRIP_CONTROL_CODES)
# Not on a terminal (CI logs, pipes), lines are never wrapped or cut: tables take the width they need.
PIPE_WIDTH = 4096


class Line:
    """One line: ``text`` in ``style`` (rich's style words, "" for none), then ``append``\\ ed pieces,
    each in its own style on top of the line's."""

    __slots__ = ("pieces", "style", "text")

    def __init__(self, text: str = "", style: str = "") -> None:
        self.text = text
        self.style = style
        self.pieces: list[tuple[str, str]] = []

    def append(self, text: str, style: str = "") -> Line:
        self.pieces.append((text, style))
        return self

    @property
    def plain(self) -> str:
        """The characters rich's ``Text`` of this line holds (control codes dropped)."""
        return "".join((self.text, *(text for text, _ in self.pieces))).translate(_STRIP)

    def to_text(self) -> Text:
        """The rich ``Text`` (imports rich)."""
        from rich.text import Text

        text = Text(self.text, style=self.style)
        for piece, style in self.pieces:
            text.append(piece, style=style)
        return text


def may_style(file: IO[str]) -> bool:
    """Whether rich could write styles to ``file`` (``Console.is_terminal`` or Jupyter); when not, its
    colour system is None and it writes a styled text's characters only. Any doubt says yes: rich then
    decides, as before."""
    if "get_ipython" in vars(builtins) or "TTY_COMPATIBLE" in os.environ or "FORCE_COLOR" in os.environ:
        return True
    if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return True
    try:
        return bool(file.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file: rich says "not a terminal" too
        return False


def make_console(file: IO[str]) -> Console:
    """The rich console for people's output: markup, highlighting and emoji off, so that manifest
    values and labels print exactly as they are (with emoji on, a key such as `:smile:` would print
    as a smiley); off a terminal, never wrapped."""
    from rich.console import Console

    width = None if file.isatty() else PIPE_WIDTH
    return Console(file=file, markup=False, highlight=False, emoji=False, soft_wrap=True, width=width)


class Out:
    """Where ``Line``\\ s go: ``file`` (through ``make_console``), or ``console`` when the caller has
    one. ``plain`` when no styles are written there: rich then gets the lines' characters only, which
    it renders ~4× faster; on a stream of our own (no console given) they are written as they are,
    without rich (~0.1 ms a line saved, and rich's import where ``may_style`` says no)."""

    def __init__(self, file: IO[str] | None = None, console: Console | None = None) -> None:
        if console is not None:
            self._console: Console | None = console
            self.file: IO[str] = console.file
            self.plain = console.color_system is None
            self._direct = False  # the caller's console may wrap (a width, no soft wrap): rich renders
            return
        if file is None:
            raise ValueError("Out needs a file or a console")
        self._console, self.file = None, file
        self.plain = not may_style(file) or self.console.color_system is None  # e.g. TERM=dumb on a terminal
        self._direct = self.plain  # make_console's console soft-wraps: rich never breaks a line there

    @property
    def console(self) -> Console:
        if self._console is None:
            self._console = make_console(self.file)
        return self._console

    def print(self, lines: Sequence[Line], *, soft_wrap: bool | None = None, flush: bool = False) -> None:
        """The lines as one text (``soft_wrap``: rich's, None for the console's own; ``flush``: for
        progress, seen as it happens)."""
        if self._direct:
            text = "\n".join(line.plain for line in lines)
            if "\t" not in text:
                self.file.write(text + "\n")
                if flush:
                    self.file.flush()
                return
        from rich.text import Text

        joined = lines[0].to_text() if len(lines) == 1 else Text("\n").join(line.to_text() for line in lines)
        if self.plain:  # rich writes a styled segment's characters only (Style.render); tabs it expands
            joined = Text(joined.plain)
        self.console.print(joined, soft_wrap=soft_wrap)


def out_out() -> Out:
    """People's lines on stdout."""
    return Out(sys.stdout)


def err_out() -> Out:
    """People's lines on stderr (``apply -o json`` shows its progress there)."""
    return Out(sys.stderr)
