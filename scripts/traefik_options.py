#!/usr/bin/env python3
"""Generate ``reconciler/manifests/traefik_options.py``: the option names of Traefik v3's HTTP
middlewares, read from Traefik's own Go source, so that ``Middleware`` manifests are checked
against what Traefik's label provider accepts.

    python3 scripts/traefik_options.py TRAEFIK_GIT_DIR [TAG] > reconciler/manifests/traefik_options.py
    ruff format reconciler/manifests/traefik_options.py

``TRAEFIK_GIT_DIR`` is a clone of github.com/traefik/traefik (a bare one will do); ``TAG`` defaults
to ``v3.7.9``. Read: ``pkg/config/dynamic/middlewares.go`` (the ``Middleware`` struct and every
struct below it) and ``pkg/types/tls.go`` (``types.ClientTLS``). Only option names, their shape
(value, list, map, nested options) and Traefik's ``Deprecated:`` notes are written out; no Traefik
code is copied. Fields tagged ``label:"-"`` (Kubernetes-only middlewares and fields) and ``plugin``
are left out: labels cannot set them.

Options the v2 to v3 migration guide lists as removed (``docs/content/migrate/v2-to-v3-details.md``,
"Deprecated Options Removal") are still in the structs but do nothing; they are listed in
``REMOVED_IN_V3`` below so the manifests refuse them, with Traefik's own note as the replacement.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pprint import pformat
from typing import Any

MIDDLEWARES = "pkg/config/dynamic/middlewares.go"
TYPES_TLS = "pkg/types/tls.go"
# docs/content/migrate/v2-to-v3-details.md, "Deprecated Options Removal" (and the Headers,
# StripPrefix and ForwardAuth options it names).
REMOVED_IN_V3 = (
    "headers.sslRedirect",
    "headers.sslTemporaryRedirect",
    "headers.sslHost",
    "headers.sslForceHost",
    "headers.featurePolicy",
    "stripPrefix.forceSlash",
    "forwardAuth.tls.caOptional",
)

_STRUCT = re.compile(r"^type (\w+) struct \{$")
_SLICE_ALIAS = re.compile(r"^type (\w+) \[\]\w+$")
_FIELD = re.compile(r"^\s+(\w+)\s+([^\s`]+)\s+`([^`]*)`")
_TAG = re.compile(r'(\w+):"([^"]*)"')


def _show(git_dir: str, tag: str, path: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", git_dir, "show", f"{tag}:{path}"], capture_output=True, text=True, check=True
    ).stdout


def _structs(source: str, prefix: str = "") -> tuple[dict[str, list[dict[str, str]]], set[str]]:
    """Struct name -> its fields (Go name, Go type, tags, deprecation note); slice alias names."""
    structs: dict[str, list[dict[str, str]]] = {}
    aliases: set[str] = set()
    current: list[dict[str, str]] | None = None
    comment: list[str] = []
    for line in source.splitlines():
        if (match := _STRUCT.match(line)) is not None:
            current, comment = [], []
            structs[prefix + match.group(1)] = current
        elif (match := _SLICE_ALIAS.match(line)) is not None:
            aliases.add(prefix + match.group(1))
        elif current is not None and line == "}":
            current = None
        elif current is not None and line.strip().startswith("//"):
            comment.append(line.strip().removeprefix("//").strip())
        elif current is not None and (match := _FIELD.match(line)) is not None:
            tags = dict(_TAG.findall(match.group(3)))
            note = " ".join(comment)
            deprecated = note.split("Deprecated:", 1)[1].strip() if "Deprecated:" in note else ""
            deprecated = deprecated.split(". ", 1)[0].removesuffix(".") + "." if deprecated else ""
            current.append({"go": match.group(1), "type": match.group(2), "deprecated": deprecated, **tags})
            comment = []
        elif current is not None and not line.strip():
            comment = []
    return structs, aliases


def _shape(go_type: str, structs: dict[str, list[dict[str, str]]], aliases: set[str]) -> Any:
    base = go_type.lstrip("*")
    if base.startswith("[]") or base in aliases:
        return "list"
    if base.startswith("map["):
        return "map"
    if base.startswith("types."):
        base = "types:" + base.removeprefix("types.")
    return base if base in structs else "value"


def _options(
    name: str,
    structs: dict[str, list[dict[str, str]]],
    aliases: set[str],
    path: str,
    notes: dict[str, str],
    allow_empty: set[str],
) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for field in structs[name]:
        json_name = field.get("json", "").split(",")[0]
        if field.get("label") == "-" or json_name in ("", "-"):
            continue
        here = f"{path}.{json_name}"
        if field["deprecated"]:
            notes[here] = field["deprecated"]
        if field.get("label") == "allowEmpty":
            allow_empty.add(here)
        shape = _shape(field["type"], structs, aliases)
        options[json_name] = _options(shape, structs, aliases, here, notes, allow_empty) if shape in structs else shape
    return options


def generate(git_dir: str, tag: str) -> str:
    structs, aliases = _structs(_show(git_dir, tag, MIDDLEWARES))
    tls_structs, _ = _structs(_show(git_dir, tag, TYPES_TLS), prefix="types:")
    structs["types:ClientTLS"] = tls_structs["types:ClientTLS"]
    notes: dict[str, str] = {}
    allow_empty: set[str] = set()
    table: dict[str, Any] = {}
    for field in structs["Middleware"]:
        json_name = field.get("json", "").split(",")[0]
        if field.get("label") == "-" or json_name in ("", "-", "plugin"):
            continue
        if field["deprecated"]:
            notes[json_name] = field["deprecated"]
        if field.get("label") == "allowEmpty":
            allow_empty.add(json_name)
        table[json_name] = _options(field["type"].lstrip("*"), structs, aliases, json_name, notes, allow_empty)
    missing = [path for path in REMOVED_IN_V3 if path not in notes]
    if missing:
        raise SystemExit(f"not marked deprecated in {tag}: {missing}")
    return f'''"""Traefik v3's HTTP middleware options, by middleware type: GENERATED, do not edit.

Generated by ``scripts/traefik_options.py`` from Traefik {tag} (github.com/traefik/traefik),
``{MIDDLEWARES}`` (the ``Middleware`` struct and the structs below it) and ``{TYPES_TLS}``
(``types.ClientTLS``): only the option names (as in Traefik's ``json`` tags), their shape and
Traefik's ``Deprecated:`` notes, none of Traefik's code. A shape is ``"value"``, ``"list"`` (a list,
or one comma-separated value), ``"map"`` (free keys, e.g. header names) or a dict of nested options.
Fields labels cannot set (``label:"-"``) and plugins are left out. Traefik's label parser matches
option names case-insensitively (github.com/traefik/paerser ``parser/nodes_metadata.go``
``findTypedField``, ``strings.EqualFold``).

``ALLOW_EMPTY``: options (or middlewares) that ``true`` alone enables with Traefik's defaults.
``DEPRECATED``: Traefik's note for each deprecated option. ``REMOVED_IN_V3``: the deprecated
options the v2 to v3 migration guide (``docs/content/migrate/v2-to-v3-details.md``) says were
removed; they are still parsed but do nothing. Used by ``reconciler.manifests.middleware_options``.
"""

from __future__ import annotations

from typing import Any

TRAEFIK_VERSION = {tag!r}

OPTIONS: dict[str, Any] = {pformat(table, width=110, sort_dicts=True)}

ALLOW_EMPTY: frozenset[str] = frozenset({pformat(sorted(allow_empty), width=110)})

DEPRECATED: dict[str, str] = {pformat(dict(sorted(notes.items())), width=110)}

REMOVED_IN_V3: frozenset[str] = frozenset({pformat(sorted(REMOVED_IN_V3), width=110)})
'''


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit(__doc__)
    sys.stdout.write(generate(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else "v3.7.9"))
