"""Job services: the manifest's modes and counts and their checks (swarmkit controlapi/service.go
validateMode, validateJob), the rendered ``Mode`` (the engine's defaults written out: stored-form
quirk ``job-defaults``), the essence, and health (a finished job is Healthy; swarmkit
manager/orchestrator/jobs counts ``complete`` tasks of the current ``JobIteration``)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.manifests.kinds.service import Service
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.render.service_spec import service_spec
from reconciler.state.essence import service_essence
from reconciler.state.health import HealthState, service_health
from reconciler.state.stored_form import store_service


def _service(**spec: Any) -> Service:
    return Service.model_validate(
        {
            "apiVersion": "reconciler.swarm/v1alpha1",
            "kind": "Service",
            "metadata": {"name": "batch"},
            "spec": {"image": "lab/busybox:1", **spec},
        }
    )


@pytest.mark.parametrize(
    ("spec", "mode"),
    [
        ({"mode": "replicated-job"}, {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}),
        (
            {"mode": "replicated-job", "maxConcurrent": 2},
            {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}},
        ),
        (
            {"mode": "replicated-job", "totalCompletions": 5},
            {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 5}},
        ),
        ({"mode": "global-job"}, {"GlobalJob": {}}),
    ],
)
def test_a_job_renders_as_the_engine_stores_it(spec: dict[str, Any], mode: dict[str, Any]) -> None:
    service = _service(**spec)
    body = service_spec(service, ManifestSet([service]))
    assert body["Mode"] == mode
    assert store_service(body, {})["Mode"] == mode  # nothing left for the engine to fill in


def test_a_job_docker_stack_deploy_sent_without_counts_equals_the_manifests_defaults() -> None:
    """stack deploy sends ``ReplicatedJob: {}`` for a job without replicas; the engine stores 1/1."""
    service = _service(mode="replicated-job")
    body = service_spec(service, ManifestSet([service]))
    bare = store_service({**body, "Mode": {"ReplicatedJob": {}}}, {})
    assert bare["Mode"] == body["Mode"]
    assert service_essence(bare, {}) == service_essence(store_service(body, {}), {})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"mode": "replicated-job", "replicas": 2},
            "replicas cannot be set for a replicated-job service; a replicated job takes",
        ),
        ({"mode": "global-job", "replicas": 2}, "replicas cannot be set for a global-job service"),
        ({"maxConcurrent": 2}, "only a replicated-job service takes it"),
        ({"mode": "global-job", "totalCompletions": 2}, "only a replicated-job service takes it"),
        ({"mode": "replicated-job", "updateConfig": {"parallelism": 1}}, "a job service takes no updateConfig"),
        ({"mode": "replicated-job", "maxConcurrent": -1}, "greater than or equal to 0"),
    ],
)
def test_what_swarmkit_refuses_for_jobs_is_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        _service(**spec)


def _job(total: int | None, iteration: int = 1) -> dict[str, Any]:
    mode = {"GlobalJob": {}} if total is None else {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": total}}
    return {"Spec": {"Name": "batch", "Mode": mode}, "JobStatus": {"JobIteration": {"Index": iteration}}}


def _task(state: str, iteration: int = 1, node: str = "n1", err: str = "") -> dict[str, Any]:
    return {"DesiredState": "complete", "NodeID": node, "JobIteration": {"Index": iteration},
            "Status": {"State": state, "Err": err, "Timestamp": "2026-11-30T10:00:05Z"}}  # fmt: skip


def test_a_finished_job_is_healthy_not_degraded() -> None:
    health = service_health(_job(2), [_task("complete"), _task("complete")])
    assert health.state is HealthState.HEALTHY and health.reason == "2/2 completed"
    assert service_health(_job(None), [_task("complete", node="a"), _task("complete", node="b")]).healthy


def test_a_running_job_progresses_and_a_failing_one_is_degraded() -> None:
    running = service_health(_job(2), [_task("complete"), _task("running")])
    assert running.state is HealthState.PROGRESSING and running.reason.startswith("1/2 completed")
    failed = service_health(_job(1), [_task("failed", err="task: non-zero exit (1)")])
    assert failed.state is HealthState.DEGRADED and "non-zero exit (1)" in failed.reason
    unschedulable = service_health(_job(1), [_task("pending", err="no suitable node")])
    assert unschedulable.state is HealthState.DEGRADED


def test_only_the_current_iterations_tasks_count() -> None:
    """An update runs the job again: the last run's completed tasks do not make the new run done."""
    health = service_health(_job(1, iteration=2), [_task("complete", iteration=1), _task("running", iteration=2)])
    assert health.state is HealthState.PROGRESSING
