"""A document that failed its own model, cut down to the part that passes, so that its references
are checked in the same run as its field errors (an operator wants every error at once: a newcomer
saw "Network/x is not declared" only after fixing another field of the same Service).

The places its errors are about are removed and the rest validated again, a few rounds: the mapping
key nearest to each error (an unknown or wrong field; for a missing field, the field that holds
it). List items are never removed, so list positions, and with them the references' field paths,
stay those of the file. A document that still fails (a required field is wrong) gives nothing.
Used by ``loading`` to report references only: a salvaged document is never loaded or applied.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import ValidationError

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.types import error_loc

__all__ = ["salvage"]

ROUNDS = 3  # a wrong field, then the field holding a missing one, then give up
_ENVELOPE = frozenset({"apiVersion", "kind", "metadata", "spec"})


def salvage(data: dict[str, Any], model: type[Resource]) -> Resource | None:
    """``data`` without the fields its errors are about, validated by ``model``; None when no such
    cut passes (or nothing was left to cut)."""
    current = copy.deepcopy(data)
    for _ in range(ROUNDS):
        try:
            return model.model_validate(current)
        except ValidationError as exc:
            cuts = [_nearest_key(current, error_loc(error)) for error in exc.errors(include_url=False)]
            found = {(id(parent), key): (parent, key) for parent, key in filter(None, cuts)}
            if not found:
                return None
            for parent, key in found.values():
                parent.pop(key, None)
    return None


def _nearest_key(data: Any, loc: tuple[int | str, ...]) -> tuple[dict[str, Any], str] | None:
    """The deepest (mapping, key) on ``loc`` that is in ``data``; parts that are not places in the
    data (a union branch's tag, a missing key) are passed over. The envelope is never cut."""
    nearest: tuple[dict[str, Any], str] | None = None
    current = data
    for part in loc:
        if isinstance(current, dict) and isinstance(part, str) and part in current:
            if current is not data or part not in _ENVELOPE:
                nearest = (current, part)
            current = current[part]
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            current = current[part]
    return nearest
