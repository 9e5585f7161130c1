"""Health from Engine-shaped services and tasks (moby api/types/swarm task and service states)."""

from __future__ import annotations

from typing import Any

from reconciler.state.health import HealthState, network_health, parse_time, service_health

UPDATED = "2026-11-30T10:00:00.123456789Z"


def service(replicas: int | None = 2, update: dict[str, Any] | None = None) -> dict[str, Any]:
    mode = {"Global": {}} if replicas is None else {"Replicated": {"Replicas": replicas}}
    found: dict[str, Any] = {"ID": "s1", "UpdatedAt": UPDATED, "Spec": {"Name": "web", "Mode": mode}}
    if update:
        found["UpdateStatus"] = update
    return found


def task(
    state: str, desired: str = "running", err: str = "", at: str = "2026-11-30T10:00:05Z", node: str = "n1"
) -> dict[str, Any]:
    return {"DesiredState": desired, "NodeID": node, "Status": {"State": state, "Err": err, "Timestamp": at}}


def test_enough_running_tasks_is_healthy() -> None:
    health = service_health(service(2), [task("running"), task("running")])
    assert health.state is HealthState.HEALTHY and health.reason == "2/2 running"
    assert service_health(service(0), []).healthy


def test_a_task_no_node_can_take_is_degraded_with_the_engines_words() -> None:
    err = "no suitable node (scheduling constraints not satisfied on 1 node)"
    health = service_health(service(1), [task("pending", err=err)])
    assert health.state is HealthState.DEGRADED
    assert health.reason == f"0/1 running; a task is pending: {err}"


def test_tasks_failing_since_the_last_update_are_degraded_older_failures_are_not() -> None:
    failed = task("failed", desired="shutdown", err="task: non-zero exit (1)")
    old = task("failed", desired="shutdown", err="old", at="2026-11-30T09:00:00Z")
    health = service_health(service(1), [failed, old, task("starting")])
    assert (
        health.state is HealthState.DEGRADED and "non-zero exit (1)" in health.reason and "1 task(s)" in health.reason
    )
    assert service_health(service(1), [old, task("starting")]).state is HealthState.PROGRESSING


def test_update_states() -> None:
    rolled = service(1, {"State": "rollback_completed", "Message": "rollback completed"})
    assert service_health(rolled, [task("running")]).state is HealthState.DEGRADED
    paused = service(1, {"State": "paused", "Message": "update paused due to failure"})
    assert "paused" in service_health(paused, [task("running")]).reason
    updating = service(1, {"State": "updating"})
    assert service_health(updating, [task("running")]).state is HealthState.PROGRESSING
    assert service_health(service(1, {"State": "completed"}), [task("running")]).healthy


def test_an_update_whose_new_task_no_node_can_take_is_degraded_not_progressing_for_ever() -> None:
    err = "no suitable node (scheduling constraints not satisfied on 1 node)"
    updating = service(1, {"State": "updating"})
    health = service_health(updating, [task("pending", err=err), task("shutdown", desired="shutdown")])
    assert health.state is HealthState.DEGRADED
    assert health.reason == f"0/1 running; update in progress, a task is pending: {err}"
    assert service_health(updating, [task("pending")]).state is HealthState.PROGRESSING  # no error yet


def test_a_global_service_whose_tasks_are_rejected_is_not_healthy() -> None:
    rejected = task("rejected", desired="shutdown", err="No such image: lab/absent:1")
    health = service_health(service(None), [rejected])  # between the rejection and the next try
    assert health.state is HealthState.DEGRADED and "No such image" in health.reason


def test_networks_allocate_then_degrade() -> None:
    created = "2026-11-30T10:00:00Z"
    now = parse_time(created).timestamp()  # type: ignore[union-attr]
    assert network_health({"Driver": "overlay", "Created": created}, now).healthy
    assert network_health({"Driver": "", "Created": created}, now + 5).state is HealthState.PROGRESSING
    assert network_health({"Driver": "", "Created": created}, now + 60).state is HealthState.DEGRADED


def test_go_timestamps_parse() -> None:
    assert parse_time(UPDATED).microsecond == 123456  # type: ignore[union-attr]
    assert parse_time("2026-11-30T10:00:00+01:00").utcoffset().total_seconds() == 3600  # type: ignore[union-attr]
    assert parse_time("nonsense") is None and parse_time(None) is None
