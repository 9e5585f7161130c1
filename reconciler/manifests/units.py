"""Human units in manifests (``30s``, ``512Mi``, ``0.5``) to the integers the Engine API takes.

Used by the model validators (to reject bad values early, with the field's position) and by
``reconciler.render`` (to build API specs); the manifests keep the user's spelling.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from reconciler.manifests.errors import has_control, shown

__all__ = ["parse_cpus", "parse_duration", "parse_memory"]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_NS_PER_UNIT = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_MAX_DURATION_NS = 2**63 - 1


def parse_duration(text: str) -> int:
    """Go's ``time.ParseDuration`` grammar (without signs), to nanoseconds; ``0`` is allowed alone."""
    if text == "0":
        return 0
    if not text:
        raise ValueError("empty duration")
    pos = 0
    total = Decimal(0)
    while pos < len(text):
        match = _DURATION_PART.match(text, pos)
        if match is None:
            raise ValueError(f"invalid duration {shown(text)}: use a number with a unit, e.g. 500ms, 30s, 1m30s")
        total += Decimal(match.group(1)) * _NS_PER_UNIT[match.group(2)]
        pos = match.end()
    nanos = int(total)
    if nanos > _MAX_DURATION_NS:
        raise ValueError(f"duration {shown(text)} is too long")
    return nanos


_MEMORY = re.compile(r"(\d+(?:\.\d+)?) *([kKmMgGtT]i?[bB]?|[bB])?")


def parse_memory(value: str | int) -> int:
    """``512M``, ``512MB``, ``512Mi`` or a byte count to bytes.

    Docker's CLI and Compose read ``512M`` as 512 MiB, so every suffix is binary here too: a user who
    copies a value from a stack file gets the same limit.
    """
    if isinstance(value, bool):
        raise ValueError("memory must be a size such as 512Mi, not a boolean")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("memory must not be negative")
        return value
    # Spaces around the number are the user's; a newline or tab is not (it would pass ``\s``).
    match = _MEMORY.fullmatch(value.strip(" "))
    if match is None:
        raise ValueError(f"invalid memory size {shown(value)}: use e.g. 512M, 512Mi, 1G or a number of bytes")
    number = Decimal(match.group(1))
    unit = (match.group(2) or "").lower().rstrip("b").rstrip("i")
    factor = 1 if unit == "" else 1024 ** "kmgt".index(unit) * 1024
    return int(number * factor)


def parse_cpus(value: str | float | int) -> int:
    """A CPU count (``0.5``, ``"2"``) to the Engine's NanoCPUs."""
    if isinstance(value, bool):
        raise ValueError("cpus must be a number such as 0.5")
    if isinstance(value, str) and has_control(value):
        # Decimal() would quietly strip a trailing newline.
        raise ValueError(f"invalid cpu count {shown(value)}: control characters are not allowed")
    try:
        number = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"invalid cpu count {shown(value)}: use a number such as 0.5 or 2") from exc
    if not number.is_finite() or number <= 0:
        raise ValueError("cpus must be a positive number")
    nanos = int(number * 1_000_000_000)
    if nanos == 0:
        raise ValueError("cpus is too small: the smallest unit is 1e-9")
    return nanos
