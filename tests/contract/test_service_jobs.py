"""Job services (``mode: replicated-job`` / ``global-job``, Swarm ``Mode.ReplicatedJob`` and
``Mode.GlobalJob``, API 1.41+) on the in-memory swarm and the lab: the engine's stored form (quirk
``job-defaults``: a ReplicatedJob sent without counts is stored with MaxConcurrent 1 and
TotalCompletions = MaxConcurrent), the import, health (a finished job is Healthy), and the fact that
adopting one runs it again (swarmkit controlapi/service.go UpdateService: any update increments
``JobStatus.JobIteration``), announced in the plan as ``Notice.JOB_RERUN``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from reconciler.importing.live_swarm import import_live, write_import
from reconciler.state.health import HealthState
from reconciler.state.plan import Action, Notice, Plan
from tests.contract.conftest import ContractSwarm


def _job(cs: ContractSwarm, base: str, mode: dict[str, Any]) -> str:
    """A job service as docker stack deploy sends one (no UpdateConfig: swarmkit refuses it for jobs)."""
    return cs.port.create_service(
        {
            "Name": cs.name(base),
            "Labels": {},
            "TaskTemplate": {"ContainerSpec": {"Image": cs.image, "Args": ["true"]}},
            "Mode": mode,
        }
    )


def _tasks(cs: ContractSwarm, service_id: str) -> set[str]:
    return {t["ID"] for t in cs.port.snapshot().tasks if t.get("ServiceID") == service_id}


def _settled(cs: ContractSwarm, folder: Path, timeout: float = 60.0) -> Plan:
    """The plan once every change is healthy (the job has completed) or the timeout passes."""
    deadline = time.monotonic() + timeout
    while True:
        plan = cs.plan(folder)
        if all(c.health is None or c.health.healthy for c in plan.changes) or time.monotonic() > deadline:
            return plan
        time.sleep(0.5)


def test_a_job_is_stored_with_the_engines_counts_imported_and_adopting_it_runs_it_again(
    cs: ContractSwarm, tmp_path: Path
) -> None:
    replicated = _job(cs, "batch", {"ReplicatedJob": {}})
    _job(cs, "once", {"GlobalJob": {}})
    live = cs.service(cs.name("batch"))
    assert live is not None
    assert live["Spec"]["Mode"] == {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}  # job-defaults
    once = cs.service(cs.name("once"))
    assert once is not None and once["Spec"]["Mode"] == {"GlobalJob": {}}

    folder = tmp_path / "imported"
    result = import_live(cs.port.snapshot(), services=[cs.name("batch"), cs.name("once")])
    write_import(result.documents, folder)
    specs = {d["metadata"]["name"]: d["spec"] for d in result.documents if d["kind"] == "Service"}
    assert {k: specs[cs.name("batch")][k] for k in ("mode", "maxConcurrent", "totalCompletions")} == {
        "mode": "replicated-job", "maxConcurrent": 1, "totalCompletions": 1,
    }  # fmt: skip
    assert specs[cs.name("once")]["mode"] == "global-job"

    before = _settled(cs, folder, timeout=60.0)
    assert [c.health.state for c in before.changes if c.health] == [HealthState.HEALTHY] * 2  # completed
    ran = _tasks(cs, replicated)
    assert ran  # the job ran once

    adopting = cs.plan(folder, adopt=True)
    for change in adopting.changes:
        assert change.action is Action.UPDATE and change.notices == (Notice.JOB_RERUN,), change
    assert "runs the job again" in Notice.JOB_RERUN.text
    outcome = cs.reconcile(folder, adopt=True)
    assert outcome.converged, [(o.change.key, o.status, o.message) for o in outcome.applied.outcomes]
    after = _settled(cs, folder)
    assert after.in_sync, [(c.key, c.action, c.reason, c.health) for c in after.changes]
    assert all(c.health is not None and c.health.healthy for c in after.changes), after.changes  # ran again, done
    assert _tasks(cs, replicated) - ran, "the adoption's update ran the job again (a new task)"
    stored = cs.service(cs.name("batch"))
    assert stored is not None and stored["Spec"]["Mode"] == live["Spec"]["Mode"]


def test_a_service_that_depends_on_a_job_is_created_once_the_job_has_completed(cs: ContractSwarm) -> None:
    """A job's tasks end ``complete`` and never stay running: ``dependsOn`` a job waits for its run to
    complete (``engine.applying``), as for a migration before the app."""
    cs.write(
        cs.doc("Service", "migrate", {"image": cs.image, "args": ["true"], "mode": "replicated-job",
                                      "totalCompletions": 2}),
        cs.doc("Service", "app", {"image": cs.image, "replicas": 0, "dependsOn": [f"Service/{cs.name('migrate')}"]}),
    )  # fmt: skip
    result = cs.reconcile(dependency_timeout=60.0)
    assert result.converged, [(o.change.key, o.status, o.message) for o in result.applied.outcomes]
    job, app = cs.service(cs.name("migrate")), cs.service(cs.name("app"))
    assert job is not None and app is not None
    done = [
        t for t in cs.port.snapshot().tasks if t.get("ServiceID") == job["ID"] and t["Status"]["State"] == "complete"
    ]
    assert len(done) == 2  # the run completed before the dependent was created (a failed wait skips it)


def test_a_mode_change_of_kind_is_blocked_in_the_plan_not_failed_at_apply(cs: ContractSwarm) -> None:
    """The engine refuses to turn a service into a job (stored-form quirk ``mode-kind-fixed``): the
    plan says so, with what to do, and apply writes nothing."""
    cs.write(cs.doc("Service", "svc", {"image": cs.image, "replicas": 0}))
    cs.converge()
    cs.write(cs.doc("Service", "svc", {"image": cs.image, "args": ["true"], "mode": "replicated-job"}))
    change = cs.change(cs.plan(), "Service", "svc")
    assert change.action is Action.BLOCKED
    assert change.reason.startswith("the mode cannot change from replicated to replicated-job in place")
    assert "remove the service" in change.reason
    live = cs.service(cs.name("svc"))
    assert live is not None and "Replicated" in live["Spec"]["Mode"]
