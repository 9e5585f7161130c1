"""``Metrics`` on its own: calls → series in its private registry, read back with the Prometheus parser."""

from __future__ import annotations

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from reconciler.runtime.metrics import ERROR_STAGES, Metrics


def samples(metrics: Metrics, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """``{sorted labels: value}`` of every sample called ``name``."""
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for sample in family.samples:
            if sample.name == name:
                out[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_observe_pass_counts_changes_and_drift_and_success_time() -> None:
    m = Metrics()
    m.observe_pass(0.3, [("Service", "create"), ("Service", "create"), ("Network", "delete")], ["Route"], True, 1000.0)
    m.observe_pass(2.0, [("Service", "update")], [], False, 2000.0)

    assert samples(m, "reconciler_reconcile_duration_seconds_count") == {(): 2.0}
    assert samples(m, "reconciler_reconcile_duration_seconds_sum") == {(): pytest.approx(2.3)}
    assert samples(m, "reconciler_changes_applied_total") == {
        (("action", "create"), ("kind", "Service")): 2.0,
        (("action", "delete"), ("kind", "Network")): 1.0,
        (("action", "update"), ("kind", "Service")): 1.0,
    }
    assert samples(m, "reconciler_drift_detected_total") == {(("kind", "Route"),): 1.0}
    # The failed pass does not move the last-success time.
    assert samples(m, "reconciler_last_success_timestamp_seconds") == {(): 1000.0}


def test_every_error_stage_exists_from_the_start_and_unknown_stages_are_refused() -> None:
    m = Metrics()
    assert samples(m, "reconciler_errors_total") == {(("stage", s),): 0.0 for s in ERROR_STAGES}
    m.count_error("lease")
    m.count_error("lease")
    assert samples(m, "reconciler_errors_total")[(("stage", "lease"),)] == 2.0
    with pytest.raises(ValueError, match="unknown error stage"):
        m.count_error("nope")  # type: ignore[arg-type]


def test_revision_info_keeps_only_the_current_revision() -> None:
    m = Metrics()
    assert samples(m, "reconciler_revision_info") == {}
    m.set_revision("aaa")
    m.set_revision("aaa")
    m.set_revision("bbb")
    assert samples(m, "reconciler_revision_info") == {(("revision", "bbb"),): 1.0}
    m.set_revision("")
    assert samples(m, "reconciler_revision_info") == {}


def test_objects_is_a_snapshot_and_leader_and_api_requests() -> None:
    m = Metrics()
    m.set_objects({"in_sync": 4, "drifted": 1})
    m.set_objects({"in_sync": 5, "failed": 2})
    assert samples(m, "reconciler_objects") == {(("state", "in_sync"),): 5.0, (("state", "failed"),): 2.0}
    assert samples(m, "reconciler_leader") == {(): 0.0}
    m.set_leader(True)
    assert samples(m, "reconciler_leader") == {(): 1.0}
    m.count_api_requests()
    m.count_api_requests(3)
    assert samples(m, "reconciler_api_requests_total") == {(): 4.0}


def test_instances_have_private_registries() -> None:
    a, b = Metrics(), Metrics()
    a.set_leader(True)
    assert samples(a, "reconciler_leader") == {(): 1.0}
    assert samples(b, "reconciler_leader") == {(): 0.0}
    assert REGISTRY.get_sample_value("reconciler_leader") is None
    assert a.content_type.startswith("text/plain; version=0.0.4")
