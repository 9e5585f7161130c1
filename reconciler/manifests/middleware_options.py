"""A ``Middleware`` manifest's ``type`` and ``options`` checked against Traefik v3's own option set.

The option table is generated from Traefik's source (``traefik_options``, with the version it
was read from). Traefik's label provider turns each label below ``traefik.http.middlewares.<name>``
into a field of its configuration structs, matching names case-insensitively (paerser
``findTypedField``); a label that names no field fails the whole service's configuration ("field
not found"), so every route of that service answers 404. Options the v2 to v3 migration removed
are still parsed but do nothing (``headers.sslRedirect`` no longer redirects): they are refused
here with Traefik's own note on what replaces them; other deprecated options are warnings
(``deprecated_options``). Used by the ``Middleware`` model and ``warning_checks``.
"""

from __future__ import annotations

import difflib
from typing import Any

from reconciler.manifests.errors import described
from reconciler.manifests.traefik_options import (
    ALLOW_EMPTY,
    DEPRECATED,
    OPTIONS,
    REMOVED_IN_V3,
    TRAEFIK_VERSION,
)

__all__ = ["MIDDLEWARE_TYPES", "deprecated_options", "middleware_type_problem", "option_problems"]

# Middleware types labels can configure, deprecated ones (ipWhiteList) left out.
MIDDLEWARE_TYPES: tuple[str, ...] = tuple(sorted(name for name in OPTIONS if name not in DEPRECATED))

Path = tuple[str | int, ...]


def middleware_type_problem(value: object) -> str | None:
    """Why ``value`` is not a middleware type Traefik's labels configure, or None."""
    if not isinstance(value, str) or value in MIDDLEWARE_TYPES:
        return None
    if value in DEPRECATED:
        # Traefik's note names the Go type (IPAllowList); the label takes its key (ipAllowList).
        words = {w.strip(".,").lower() for w in DEPRECATED[value].split()}
        use = [t for t in MIDDLEWARE_TYPES if t.lower() in words]
        hint = f" (write type: {use[0]})" if use else ""
        return f"{value!r} is deprecated in Traefik v3: {DEPRECATED[value].rstrip('.')}{hint}"
    close = difflib.get_close_matches(value, MIDDLEWARE_TYPES, n=1, cutoff=0.6)
    hint = f": did you mean {close[0]}?" if close else ""
    return f"Traefik {TRAEFIK_VERSION} has no middleware type {value!r}{hint} (types: {', '.join(MIDDLEWARE_TYPES)})"


def _canonical(key: str, shape: dict[str, Any]) -> str | None:
    lowered = key.lower()
    return next((name for name in shape if name.lower() == lowered), None)


def _is_scalar(value: object) -> bool:
    return not isinstance(value, dict | list)


def _check(shape: Any, value: Any, path: Path, dotted: str) -> list[tuple[Path, str]]:
    """Every option below ``value`` that Traefik would refuse or ignore (all of them, so that one
    run names every unknown option, not only the first)."""
    if isinstance(shape, dict):
        if value is True and dotted in ALLOW_EMPTY:
            return []  # `true` enables it with Traefik's defaults
        if not isinstance(value, dict):
            return [(path, f"{dotted} takes options ({', '.join(sorted(shape))}), not a single value")]
        found: list[tuple[Path, str]] = []
        for key, item in value.items():
            name = _canonical(str(key), shape)
            if name is None:
                close = difflib.get_close_matches(str(key).lower(), [n.lower() for n in shape], n=1, cutoff=0.6)
                suggestion = _canonical(close[0], shape) if close else None
                hint = f": did you mean {suggestion}?" if suggestion else f" (options: {', '.join(sorted(shape))})"
                found.append(
                    (
                        (*path, key),
                        f"Traefik {TRAEFIK_VERSION} has no option {key!r} in {dotted}{hint}; Traefik would refuse "
                        "every label of the service and its routes would answer 404",
                    )
                )
                continue
            here = f"{dotted}.{name}"
            if here in REMOVED_IN_V3:
                found.append(((*path, key), f"{name} was removed in Traefik v3 and does nothing: {DEPRECATED[here]}"))
                continue
            found += _check(shape[name], item, (*path, key), here)
        return found
    if shape == "map":
        if not isinstance(value, dict) or not all(_is_scalar(v) for v in value.values()):
            return [(path, f"{dotted} takes a mapping of names to values")]
        return []
    if shape == "list":
        if isinstance(value, dict):
            return [(path, f"{dotted} takes a list, not a mapping")]
        return []
    if not _is_scalar(value):
        return [(path, f"{dotted} takes a single value, not {described(value)}")]
    return []


def option_problems(middleware_type: str, options: dict[str, Any]) -> list[tuple[Path, str]]:
    """Every option of a ``middleware_type`` middleware that Traefik would refuse or ignore, as
    (path below ``options``, reason), in the order written."""
    shape = OPTIONS.get(middleware_type)
    if shape is None:
        return []  # the type itself is refused elsewhere
    return _check(shape, options, (), middleware_type)


def deprecated_options(middleware_type: str, options: dict[str, Any]) -> list[tuple[Path, str]]:
    """Options Traefik still honours but has deprecated, with its note: (path below ``options``, note)."""
    found: list[tuple[Path, str]] = []

    def walk(shape: Any, value: Any, path: Path, dotted: str) -> None:
        if not isinstance(shape, dict) or not isinstance(value, dict):
            return
        for key, item in value.items():
            name = _canonical(str(key), shape)
            if name is None:
                continue
            here = f"{dotted}.{name}"
            if here in DEPRECATED and here not in REMOVED_IN_V3:
                found.append(((*path, key), f"{name} is deprecated in Traefik v3: {DEPRECATED[here]}"))
            walk(shape[name], item, (*path, key), here)

    walk(OPTIONS.get(middleware_type), options, (), middleware_type)
    return found
