"""A value its kind's model refuses, taken out of an imported document so the rest can be written.

Both importers build documents from what Swarm or compose accepts, which is more than a manifest
may say (an alias with a dot, an env name starting with a digit): the value at pydantic's error
``loc`` is removed, with the mappings or lists this leaves empty (a preference without its
``spread``), never the spec itself; the caller names what went and validates again. Parts of
``loc`` that are no place in the document (union tags such as ``attachment``) are passed over.
Unlike ``manifests.salvage`` (references of a file the operator wrote, whose list positions must
stay), list items are removed too. Used by ``compose_import`` and ``live_swarm``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["MAX_REFUSALS", "drop_refused"]

MAX_REFUSALS = 50  # values taken out of one document before the importer gives up on it


def drop_refused(document: dict[str, Any], loc: Sequence[str | int]) -> str | None:
    """Remove the value at ``loc`` from ``document``; its dotted path (``spec.env.1X``), or None when
    the error is not inside the spec (the whole document must go)."""
    chain: list[tuple[Any, str | int]] = []  # (container, key) from the document down to the value
    here: Any = document
    for part in loc:
        inside_list = isinstance(here, list) and isinstance(part, int) and part < len(here)
        if not inside_list and not (isinstance(here, dict) and part in here):
            continue
        chain.append((here, part))
        here = here[part]
    path = [str(key) for _, key in chain]
    if path[:1] != ["spec"] or len(path) < 2:
        return None
    container, key = chain.pop()
    container.pop(key)  # a list's index or a mapping's key
    while len(chain) > 1 and not container:  # never the spec itself
        container, key = chain.pop()
        container.pop(key)
    return ".".join(path)
