"""Round trip on every kind the examples use: the manifests in ``examples/`` are applied to the
in-memory swarm, then every reconciler label is taken off (as if the objects had been made by hand
from the very same specs), then ``import swarm`` and ``apply --adopt``: nothing but the reconciler's
labels changes (no finding, the same task IDs) and the plan is in sync. The Traefik labels come back
as the Route and Middleware they were rendered from. (The VirtualIP is left out: its objects are
a managed kind's, which an import skips.)"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path
from typing import Any

from reconciler import LABEL_PREFIX
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once, reconcile_once
from reconciler.importing.live_check import adoption_findings
from reconciler.importing.live_swarm import import_live, write_import
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired
from reconciler.swarm.fake import FakeSwarm

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _unlabelled(labels: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (labels or {}).items() if not k.startswith(LABEL_PREFIX)}


def _hand_made(swarm: FakeSwarm) -> None:
    """Every reconciler label off the services (mounts included), configs and secrets."""
    snapshot = swarm.snapshot()
    for service in snapshot.services:
        spec: dict[str, Any] = copy.deepcopy(service["Spec"])
        spec["Labels"] = _unlabelled(spec.get("Labels"))
        for mount in spec["TaskTemplate"]["ContainerSpec"].get("Mounts") or []:
            if "VolumeOptions" in mount:
                mount["VolumeOptions"]["Labels"] = _unlabelled(mount["VolumeOptions"].get("Labels"))
        swarm.update_service(service["ID"], service["Version"]["Index"], spec)
    for items, update in ((snapshot.configs, swarm.update_config), (snapshot.secrets, swarm.update_secret)):
        for item in items:
            update(
                item["ID"], item["Version"]["Index"], {**item["Spec"], "Labels": _unlabelled(item["Spec"]["Labels"])}
            )


def test_the_examples_round_trip_through_import_swarm_and_adoption(tmp_path: Path) -> None:
    source = tmp_path / "examples"
    shutil.copytree(EXAMPLES, source)
    (source / "vip.yaml").unlink()
    swarm = FakeSwarm()
    assert reconcile_once(swarm, compile_desired(load_manifests(source), "before"), PlanOptions()).converged
    _hand_made(swarm)
    tasks = {s["Spec"]["Name"]: swarm.task_ids(s["Spec"]["Name"]) for s in swarm.snapshot().services}

    snapshot = swarm.snapshot()
    imported = import_live(snapshot)
    folder = tmp_path / "imported"
    write_import(imported.documents, folder)
    assert adoption_findings(folder, snapshot, "after", imported.findings) == []
    kinds = {d["kind"] for d in imported.documents}
    assert kinds == {"Network", "Volume", "Config", "Secret", "Service", "Route", "Middleware"}

    desired = compile_desired(load_manifests(folder), "after")
    result = reconcile_once(swarm, desired, PlanOptions(adopt=True))
    assert result.converged, [(o.change.key, o.status, o.message) for o in result.applied.outcomes]
    assert {name: swarm.task_ids(name) for name in tasks} == tasks  # no task replaced
    _, plan = plan_once(swarm, desired, PlanOptions())
    assert plan.in_sync
