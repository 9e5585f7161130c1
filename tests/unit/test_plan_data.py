"""Field diffs of essences and the plan data that views render and apply consumes."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from reconciler.state.diffing import MISSING, FieldDiff, diff_essences, format_path
from reconciler.state.plan import Action, Change, Plan

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=12,
)


def test_nested_fields_differ_at_the_leaves() -> None:
    before = {"Labels": {"a": "1", "b": "2"}, "Ports": [{"Target": 80}], "Replicas": 1}
    after = {"Labels": {"a": "1", "c": "3"}, "Ports": [{"Target": 81}], "Replicas": 1}
    assert diff_essences(before, after) == [
        FieldDiff(("Labels", "b"), "2", MISSING),
        FieldDiff(("Labels", "c"), MISSING, "3"),
        FieldDiff(("Ports", 0, "Target"), 80, 81),
    ]


def test_lists_of_another_length_differ_as_a_whole() -> None:
    assert diff_essences({"Env": ["A=1"]}, {"Env": ["A=1", "B=2"]}) == [FieldDiff(("Env",), ["A=1"], ["A=1", "B=2"])]


def test_true_and_one_are_not_the_same_value() -> None:
    assert diff_essences({"x": True}, {"x": 1}) == [FieldDiff(("x",), True, 1)]


def test_paths_read_like_the_api() -> None:
    assert (
        format_path(("TaskTemplate", "ContainerSpec", "Mounts", 0, "Source"))
        == "TaskTemplate.ContainerSpec.Mounts[0].Source"
    )
    assert format_path(()) == "."


@given(json_values)
def test_a_value_never_differs_from_itself(value: object) -> None:
    assert diff_essences(value, value) == []


@given(json_values, json_values)
def test_some_diff_whenever_values_differ(a: object, b: object) -> None:
    # Canonical JSON tells True from 1 but not key order, exactly like the essence comparison should.
    assert (diff_essences(a, b) == []) == (json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True))


def test_plan_is_in_sync_only_when_every_change_is_a_noop() -> None:
    noop = Change("Network/web", Action.NOOP)
    assert Plan((noop,)).in_sync
    for action in (Action.CREATE, Action.UPDATE, Action.REPLACE, Action.DELETE, Action.BLOCKED, Action.CONFLICT):
        assert not Plan((noop, Change("Service/x", action))).in_sync
    assert Plan((noop, Change("Service/x", Action.BLOCKED))).counts() == {"noop": 1, "blocked": 1}


def test_plan_json_redacts_secret_values_and_shows_missing_as_null() -> None:
    plan = Plan(
        (
            Change("Secret/db", Action.UPDATE, "content changed", (FieldDiff(("Data",), "old", "new"),)),
            Change("Service/web", Action.CREATE, diff=(FieldDiff(("Replicas",), MISSING, 2),), drift=False),
        )
    )
    data = plan.as_json()
    assert data["changes"][0]["diff"] == [{"field": "Data", "before": "<redacted>", "after": "<redacted>"}]
    assert data["changes"][1]["diff"] == [{"field": "Replicas", "before": None, "after": 2}]
    assert data["in_sync"] is False
