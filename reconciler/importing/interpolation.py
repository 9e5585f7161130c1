"""Compose variable interpolation in every string value of a compose file (keys are left alone).

The rules are compose-go ``template/template.go`` (the same grammar as docker-cli
``cli/compose/template``, which ``docker stack deploy`` uses): ``$$`` is a literal ``$``;
``$VAR`` and ``${VAR}`` (names ``[_a-zA-Z][_a-zA-Z0-9]*``); ``${VAR:-default}`` when unset or empty,
``${VAR-default}`` when unset; ``${VAR:?message}`` and ``${VAR?message}`` fail when empty-or-unset /
unset; ``${VAR:+alt}`` and ``${VAR+alt}`` give ``alt`` when set and non-empty / set. Defaults may
themselves hold substitutions, braces nest. An unset variable without a default is the empty string
(compose warns; we list it in ``unset``). ``${`` with no valid name and operator is an invalid
template; a ``$`` followed by anything else stays as written (the pattern does not match it).
Substitutions nest at most ``MAX_NESTING`` deep (``${A:-${B:-...}}``): compose-go has no bound, but
a few thousand levels ran Python out of stack, and every real file stays within a handful. Values
put in add up to at most ``MAX_SUBSTITUTED`` characters per project.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InterpolationError", "Interpolator"]

_NAME = re.compile(r"[_a-zA-Z][_a-zA-Z0-9]*")
_OPERATORS = (":?", "?", ":-", "-", ":+", "+")
MAX_NESTING = 32
# Characters that variables' values and env_file text may add to one project. The YAML bounds count
# ``$BIG`` as four characters; a 1 MiB ``.env`` value used 200,000 times would have built 200 GB, and
# a 1 MiB env_file named by 10,000 services 10 GB.
MAX_SUBSTITUTED = 16 * 1024 * 1024


class InterpolationError(ValueError):
    """A required variable is missing or a template is malformed; ``path`` locates the value."""

    def __init__(self, message: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


@dataclass
class Interpolator:
    environment: Mapping[str, str]
    unset: set[str] = field(default_factory=set)
    room: int = MAX_SUBSTITUTED  # characters variables' values may still add

    def value(self, data: Any, path: tuple[str | int, ...] = ()) -> Any:
        """``data`` with every string substituted (recursively through mappings and lists)."""
        if isinstance(data, dict):
            return {key: self.value(item, (*path, key)) for key, item in data.items()}
        if isinstance(data, list):
            return [self.value(item, (*path, index)) for index, item in enumerate(data)]
        if isinstance(data, str) and "$" in data:
            try:
                return self.substitute(data)
            except InterpolationError as exc:
                raise InterpolationError(str(exc), path) from None
        return data

    def substitute(self, text: str, depth: int = 0) -> str:
        if depth > MAX_NESTING:
            raise InterpolationError(f"substitutions nested deeper than {MAX_NESTING} levels: refused")
        out: list[str] = []
        at = 0
        while (dollar := text.find("$", at)) >= 0:
            out.append(text[at:dollar])
            after = text[dollar + 1 : dollar + 2]
            if after == "$":
                out.append("$")
                at = dollar + 2
            elif after == "{":
                end = _closing_brace(text, dollar + 1)
                if end < 0:
                    raise InterpolationError(f"invalid template {text!r}: no closing brace")
                out.append(self._braced(text[dollar + 2 : end], text, depth))
                at = end + 1
            elif (match := _NAME.match(text, dollar + 1)) is not None:
                out.append(self._lookup(match[0]))
                at = match.end()
            else:  # compose-go's pattern does not match here: the '$' stays as written
                out.append("$")
                at = dollar + 1
        out.append(text[at:])
        return "".join(out)

    def _lookup(self, name: str) -> str:
        if name not in self.environment:
            self.unset.add(name)
        return self.put(self.environment.get(name, ""))

    def put(self, value: str) -> str:
        """``value``, counted against what values may add to the project (also ``env_file`` text,
        which ``compose_loading`` puts in); ``InterpolationError`` once that is spent."""
        self.room -= len(value)
        if self.room < 0:
            raise InterpolationError(
                f"variables' values and env_files add more than {MAX_SUBSTITUTED // (1024 * 1024)} MiB: refused"
            )
        return value

    def _braced(self, inner: str, whole: str, depth: int) -> str:
        match = _NAME.match(inner)
        if match is None:
            raise InterpolationError(f"invalid template {whole!r}")
        name, rest = match[0], inner[match.end() :]
        if not rest:
            return self._lookup(name)
        operator = next((op for op in _OPERATORS if rest.startswith(op)), None)
        if operator is None:
            raise InterpolationError(f"invalid template {whole!r}")
        argument = rest[len(operator) :]
        value = self.environment.get(name)
        empty_counts = operator.startswith(":")
        present = value is not None and (value != "" or not empty_counts)
        if operator.endswith("?"):
            if not present:
                reason = self.substitute(argument, depth + 1) if argument else ""
                raise InterpolationError(
                    f"required variable {name} is missing a value" + (f": {reason}" if reason else "")
                )
            return self.put(value or "")
        if operator.endswith("-"):
            return self.put(value or "") if present else self.substitute(argument, depth + 1)
        return self.substitute(argument, depth + 1) if present else self.put(value or "")


def _closing_brace(text: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return -1
