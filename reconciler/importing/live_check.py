"""What ``apply --adopt`` of the imported manifests would change, found by planning it.

The imported folder is loaded like any other (so it must validate), compiled and planned against
the snapshot it was made from with adoption on (``engine.planning.make_plan``): the plan is the one
``apply --adopt`` would follow. An adopted object's differences are findings, except the
reconciler's own labels (``reconciler.swarm/...``), which an adoption writes by design. A difference
in the task template or the published ports means swarmkit replaces the tasks (the service's
``TaskTemplate`` or ``EndpointSpec`` is then sent changed, ``engine.applying._minimal_update``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from reconciler import LABEL_PREFIX
from reconciler.engine.planning import PlanOptions, make_plan
from reconciler.importing.live_swarm import Finding
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired
from reconciler.state.diffing import MISSING
from reconciler.state.observed import observe_snapshot
from reconciler.state.plan import Action
from reconciler.state.snapshot import Snapshot

__all__ = ["adoption_findings"]

# Essence keys of the task template (the rest are sections of the ServiceSpec of the same name): a
# change there, or in the EndpointSpec (published ports), makes swarmkit replace the tasks.
_TASK_KEYS = {"ContainerSpec", "Networks", "Resources", "RestartPolicy", "Placement", "LogDriver"}


def adoption_findings(folder: Path, snapshot: Snapshot, instance: str, found: Sequence[Finding] = ()) -> list[Finding]:
    """``found``: the importer's findings, which are merged with the adoption's effects (one line per
    live field). Raises ``ManifestError`` when the folder does not validate."""
    desired = compile_desired(load_manifests(folder), instance)
    plan = make_plan(desired, observe_snapshot(snapshot), PlanOptions(adopt=True))
    effects = []
    for change in plan.changes:
        subject = f"{change.kind.lower()} {change.swarm_name}"
        if change.action in (Action.CONFLICT, Action.BLOCKED, Action.CREATE, Action.REPLACE, Action.DELETE):
            effects.append(Finding(subject, change.action.value, f"the adoption would {change.action.value} it: "
                                   f"{change.reason}"))  # fmt: skip
            continue
        traefik = [0, 0, 0]  # removed, added, changed
        for diff in change.diff:
            if diff.path[0] == "Labels" and _own_labels_only(diff.path, diff.before, diff.after):
                continue  # the reconciler's own labels: what adopting means
            if len(diff.path) >= 2 and diff.path[0] == "Labels" and str(diff.path[1]).lower().startswith("traefik."):
                traefik[0 if diff.after is MISSING else 1 if diff.before is MISSING else 2] += 1
                continue
            restarts = " (its tasks restart)" if _section(diff.field) in ("TaskTemplate", "EndpointSpec") else ""
            message = f"the adoption changes it{restarts}: live {_shown(diff.before)}, manifest {_shown(diff.after)}"
            effects.append(Finding(subject, diff.field, message))
        if any(traefik):
            effects.append(Finding(subject, "Labels.traefik.*", _TRAEFIK_REWRITE.format(*traefik)))
    return _merged(found, effects)


# One line per service for the Traefik labels: the Routes and Middlewares render them anew (v3 keys,
# a stack's router names), which changes many keys at once and restarts nothing; `diff` lists each.
_TRAEFIK_REWRITE = (
    "the adoption writes the Traefik labels the Routes and Middlewares render (Traefik v3 form, a stack's "
    "<stack>_<name> routers): {} live label(s) removed, {} added, {} changed; no task restarts (diff --adopt "
    "lists each)"
)


def _section(field: str) -> str:
    """The ServiceSpec section an essence path (``ContainerSpec.Env``) or a spec path lies in."""
    top = field.split(".")[0].split("[")[0]
    return "TaskTemplate" if top in _TASK_KEYS else top


def _covers(effect: str, field: str) -> bool:
    """One path lies in the other. List positions are not compared: the importer names a mount by its
    target (``Mounts[/data]``), the plan by its place in the essence (``Mounts[0]``)."""
    effect, field = _ANY_INDEX.sub("[]", effect), _ANY_INDEX.sub("[]", field)
    return any(a == b or a.startswith((b + ".", b + "[")) for a, b in ((field, effect), (effect, field)))


_ANY_INDEX = re.compile(r"\[[^\]]*\]")


def _merged(found: Sequence[Finding], effects: list[Finding]) -> list[Finding]:
    """Each live field once: a field the kind lacks with what the adoption does to it."""
    out: list[Finding] = []
    used: set[int] = set()
    for finding in found:
        if not finding.unexpressed:
            out.append(finding)
            continue
        path = finding.field.removeprefix("TaskTemplate.")
        same = [i for i, e in enumerate(effects) if e.subject == finding.subject]
        match = next((i for i in same if _covers(effects[i].field, path)), None)
        if match is not None:
            used.add(match)
            how = effects[match].message
        elif any(_section(effects[i].field) == _section(path) for i in same):
            how = "the adoption drops it (its section is sent anew for the changes listed)"
        else:
            how = "the adoption keeps it (its section is sent as the engine has it); a later change to the section drops it"
        out.append(Finding(finding.subject, finding.field, f"{finding.message}; {how}", True))
    return out + [e for i, e in enumerate(effects) if i not in used]


def _own_labels_only(path: tuple[str | int, ...], before: object, after: object) -> bool:
    """A label difference that is only in ``reconciler.swarm/`` keys (a service without labels has
    none in its essence, so the whole map differs)."""
    if len(path) >= 2:
        return str(path[1]).startswith(LABEL_PREFIX)

    def others(value: object) -> dict[str, object]:
        items = value.items() if isinstance(value, dict) else ()
        return {k: v for k, v in items if not str(k).startswith(LABEL_PREFIX)}

    return others(before) == others(after)


def _shown(value: object) -> str:
    text = "(none)" if value is MISSING else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
