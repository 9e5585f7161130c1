"""A change's field differences as a person reads them: manifest field names, list entries one by one.

``diff_essences`` compares whole lists when their lengths differ (a set that gained an entry), which
says "this whole list → that whole list"; here such a difference becomes the entries removed and the
entries added, as ``kubectl diff`` shows them, and every path is named as the manifest writes it
(``field_names``), under the manifest that wrote it (a Route's labels under the Route). The text view
and ``-o json`` both read this, so they say the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconciler.state.diffing import MISSING, FieldDiff
from reconciler.state.field_names import manifest_field

__all__ = ["ReadableDiff", "readable_diffs"]


@dataclass(frozen=True)
class ReadableDiff:
    """One difference: ``op`` is ``change``, ``add`` or ``remove`` (a field, or one list entry)."""

    owner: str  # Kind/name of the manifest the field is written in
    field: str  # e.g. spec.replicas, spec.env
    op: str
    before: Any  # the live value (MISSING for an addition)
    after: Any  # the desired value (MISSING for a removal)
    engine_field: str  # the Engine's path, e.g. ContainerSpec.Env
    entry: bool = False  # one entry of a list added or removed (not the whole field)

    def as_json(self, redact: bool = False) -> dict[str, Any]:
        def show(value: Any) -> Any:
            if value is MISSING:
                return None
            return "<redacted>" if redact else value

        return {"owner": self.owner, "field": self.field, "op": self.op, "before": show(self.before),
                "after": show(self.after), "engine_field": self.engine_field, "entry": self.entry}  # fmt: skip


def _op(before: Any, after: Any) -> str:
    return "add" if before is MISSING else "remove" if after is MISSING else "change"


def readable_diffs(owner: str, diffs: tuple[FieldDiff, ...] | list[FieldDiff]) -> list[ReadableDiff]:
    """``diffs`` of the object ``owner`` (``Kind/name``), named and split for people."""
    kind = owner.partition("/")[0]
    out: list[ReadableDiff] = []
    for diff in diffs:
        named = manifest_field(owner, kind, diff.path)
        if isinstance(diff.before, list) and isinstance(diff.after, list):
            removed = [entry for entry in diff.before if entry not in diff.after]
            added = [entry for entry in diff.after if entry not in diff.before]
            if removed or added:  # only the entries that changed (an order-only change falls through)
                out += [ReadableDiff(named.owner, named.field, "remove", e, MISSING, diff.field, True) for e in removed]
                out += [ReadableDiff(named.owner, named.field, "add", MISSING, e, diff.field, True) for e in added]
                continue
        out.append(ReadableDiff(named.owner, named.field, _op(diff.before, diff.after), diff.before, diff.after,
                                diff.field))  # fmt: skip
    return out
