"""What ``apply --adopt`` of the imported manifests would change, found by planning it.

The imported folder is loaded like any other (so it must validate), compiled and planned against
the snapshot it was made from with adoption on (``engine.planning.make_plan``): the plan is the one
``apply --adopt`` would follow. An adopted object's differences are findings, except the
reconciler's own labels (``reconciler.swarm/...``), which an adoption writes by design. A difference
in the task template or the published ports means swarmkit replaces the tasks (the service's
``TaskTemplate`` or ``EndpointSpec`` is then sent changed, ``engine.applying._minimal_update``).
"""

from __future__ import annotations

from pathlib import Path

from reconciler import LABEL_PREFIX
from reconciler.engine.planning import PlanOptions, make_plan
from reconciler.importing.live_swarm import Finding
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired
from reconciler.state.observed import observe_snapshot
from reconciler.state.plan import Action
from reconciler.state.snapshot import Snapshot

__all__ = ["adoption_findings"]

# Essence keys that live in the task template or the endpoint: a change there restarts tasks.
_RESTARTING = {"ContainerSpec", "Networks", "Resources", "RestartPolicy", "Placement", "EndpointSpec"}


def adoption_findings(folder: Path, snapshot: Snapshot, instance: str) -> list[Finding]:
    """Raises ``ManifestError`` when the folder does not validate."""
    desired = compile_desired(load_manifests(folder), instance)
    plan = make_plan(desired, observe_snapshot(snapshot), PlanOptions(adopt=True))
    findings = []
    for change in plan.changes:
        subject = f"{change.key} ({change.swarm_name})"
        if change.action in (Action.CONFLICT, Action.BLOCKED, Action.CREATE, Action.REPLACE, Action.DELETE):
            findings.append(Finding(subject, change.action.value, f"the adoption would {change.action.value} it: "
                                    f"{change.reason}"))  # fmt: skip
            continue
        for diff in change.diff:
            if diff.path[0] == "Labels" and _own_labels_only(diff.path, diff.before, diff.after):
                continue  # the reconciler's own labels: what adopting means
            restarts = " (its tasks restart)" if diff.path[0] in _RESTARTING else ""
            findings.append(
                Finding(
                    subject,
                    diff.field,
                    f"the adoption changes it{restarts}: live {_shown(diff.before)}, manifest {_shown(diff.after)}",
                )
            )
    return findings


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
    text = "(none)" if type(value).__name__ == "_Missing" else repr(value)
    return text if len(text) <= 120 else text[:117] + "..."
