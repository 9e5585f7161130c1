"""A validated resource's models → the same models, each holding one shared set of the fields it was
given instead of a set of its own.

Pydantic gives every model instance a ``__pydantic_fields_set__``: the names of the fields the
document set. A set costs 216 bytes and more (728 from five names), and a manifest is 5-30 models,
most of which were written alike: at 1,000 manifests that was ~0.9 MiB of equal sets held as long as
the manifests are loaded (issue 18). ``share_fields_sets`` makes every model of a load whose set is
equal to one seen before hold that one.

Sharing is safe because every manifest model is frozen (``kinds.base``: ``frozen=True``, checked by
``tests/unit/test_fields_sets.py`` for all of them), so pydantic never adds to the set of an existing
model (only ``__setattr__`` would); ``model_copy`` copies the set before it adds to it. Nothing in
the project reads the sets; the values, ``==`` and every dump are unchanged.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["FieldsSets", "share_fields_sets"]

FieldsSets = dict[frozenset[str], set[str]]  # one load's sets, by their names


def share_fields_sets(model: BaseModel, seen: FieldsSets) -> None:
    """Point ``model`` and every model inside it at the set in ``seen`` equal to its own (adding it if new)."""
    stack: list[Any] = [model]
    while stack:
        value = stack.pop()
        if isinstance(value, BaseModel):
            own = value.__pydantic_fields_set__
            shared = seen.setdefault(frozenset(own), own)
            if shared is not own:
                object.__setattr__(value, "__pydantic_fields_set__", shared)
            stack.extend(value.__dict__.values())
        elif isinstance(value, list | tuple):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
