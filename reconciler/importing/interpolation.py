"""Compose variable interpolation in every string value of a compose file (keys are left alone), as
``docker stack deploy`` does it: docker-cli ``cli/compose/template/template.go``, whose grammar is
narrower than compose-go's (``docker compose``), and whose results are what a stack runs.

One regular expression, tried at each ``$`` (case-insensitive, leftmost alternative first):
``$$`` is a literal ``$``; ``$NAME`` and ``${NAME}`` (``[_a-zA-Z][_a-zA-Z0-9]*``), each optionally
followed by ``:-``, ``-``, ``:?`` or ``?`` and an argument that runs to the first ``}`` (or the end of
the value): so a default ends at the first ``}``, and ``${OUTER:-${INNER:-deep}}`` with OUTER unset
is the literal ``${INNER:-deep}`` followed by ``}`` (defaults are not substituted again); unbraced,
``$VAR-x/y`` is ``VAR`` with the default ``x/y``. The operator is found as docker-cli's functions
find it, in the whole text after ``$``/``${``, in this order: ``:-`` (default when unset or empty),
``-`` (when unset), ``:?`` (an error when unset or empty: ``required variable NAME is missing a
value: message``), ``?`` (when unset); the name is the text before it. Anything else after a ``$``
(``${VAR:+alt}``, ``${VAR+alt}``, ``$1``, a lone ``$``) is docker-cli's "invalid interpolation
format", an error here too; as in docker-cli, that error is forgotten when a later substitution in the
same value succeeds (the Go closure's ``err`` is overwritten), the invalid ``$`` then being dropped.
An unset variable without an operator is the empty string (listed in ``unset``). Values put in add up
to at most ``MAX_SUBSTITUTED`` characters per project. Nothing recurses, so nesting costs nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["InterpolationError", "Interpolator"]

# docker-cli template.go: delimiter "\$", subst "[_a-z][_a-z0-9]*(?::?[-?][^}]*)?", under (?i:...)
_SUBST = r"[_a-z][_a-z0-9]*(?::?[-?][^}]*)?"
_PATTERN = re.compile(rf"\$(?i:(?P<escaped>\$)|(?P<named>{_SUBST})|\{{(?P<braced>{_SUBST})\}}|(?P<invalid>))")
# docker-cli DefaultSubstituteFuncs: softDefault, hardDefault, requiredNonEmpty, required
_OPERATORS = (":-", "-", ":?", "?")
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

    def substitute(self, text: str) -> str:
        """``text`` substituted as docker-cli's ``SubstituteWith`` does (``Substitute``)."""
        error: InterpolationError | None = None

        def replace(match: re.Match[str]) -> str:
            nonlocal error
            if match["escaped"]:
                return "$"
            substitution = match["named"] or match["braced"]
            if not substitution:
                error = _invalid(text)
                return ""
            error = None  # each substitution function sets the Go closure's err, nil when it succeeds
            return self._apply(substitution)

        result = _PATTERN.sub(replace, text)
        if error is not None:
            raise error
        return result

    def _apply(self, substitution: str) -> str:
        for operator in _OPERATORS:
            if operator not in substitution:
                continue
            name, _, argument = substitution.partition(operator)
            value = self.environment.get(name)
            if operator == ":-":
                return self.put(value) if value else argument
            if operator == "-":
                return self.put(value) if value is not None else argument
            if value is None or (operator == ":?" and value == ""):
                raise InterpolationError(f"required variable {name} is missing a value: {argument}")
            return self.put(value)
        return self._lookup(substitution)

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


def _invalid(text: str) -> InterpolationError:
    """docker-cli ``interpolation.go``: ``invalid interpolation format for <path>: "<value>"; you may
    need to escape any $ with another $`` (the path is added by the caller's place)."""
    hint = (
        " (docker stack deploy's template has no ':+' or '+' operator, which docker compose has)"
        if re.search(r"\$\{[_a-zA-Z][_a-zA-Z0-9]*:?\+", text)
        else ""
    )
    return InterpolationError(
        f"invalid interpolation format: {text!r}{hint}; you may need to escape any $ with another $"
    )
