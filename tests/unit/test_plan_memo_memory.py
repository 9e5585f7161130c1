"""The plan memo holds a digest of each live spec, not the spec (issue 18): the last pass's observation
is not kept through the next one. ``spec_digest`` is equal for the same JSON data however its parts are
shared or referred to, and differs for different data; the memo still plans as from scratch
(``tests/unit/test_plan_memo.py``)."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from reconciler.state.observed import ObservedObject
from reconciler.state.plan_memo import PlanMemo, spec_digest

_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)
_specs = st.dictionaries(st.text(max_size=6), _json, max_size=5)


@given(_specs)
def test_a_copy_has_the_same_digest_whoever_else_refers_to_its_parts(spec: dict[str, Any]) -> None:
    again = json.loads(json.dumps(spec))  # a fresh observation of the same stored spec
    held = [copy.copy(v) for v in spec.values()] + list(spec.values())  # more references to the parts
    assert spec_digest(again) == spec_digest(spec) == spec_digest(copy.deepcopy(spec))
    del held


@given(_specs, _specs)
def test_different_data_has_a_different_digest(one: dict[str, Any], other: dict[str, Any]) -> None:
    if json.dumps(one) != json.dumps(other):
        assert spec_digest(one) != spec_digest(other)


def test_the_memo_keeps_no_reference_to_the_live_spec() -> None:
    spec: dict[str, Any] = {"Name": "web", "Labels": {"a": "b"}, "TaskTemplate": {"ContainerSpec": {"Image": "x"}}}
    live = ObservedObject("service", "web", "id1", 7, {"ID": "id1", "Spec": spec})
    memo = PlanMemo()
    before = sys.getrefcount(spec)
    with memo.live.round():
        essence, _ = memo.service_diff(live, {}, {"Name": "web"}, lambda: {"Name": "web", "Image": "x"})
    assert essence == {"Name": "web", "Image": "x"}
    assert sys.getrefcount(spec) == before
    with memo.live.round():  # the next pass: the same version and data, another dict
        again = ObservedObject("service", "web", "id1", 7, {"ID": "id1", "Spec": copy.deepcopy(spec)})
        memo.service_diff(again, {}, {"Name": "web"}, lambda: {"Name": "web", "Image": "y"})
    assert (memo.live.hits, memo.live.misses) == (1, 1)


def test_an_in_sync_service_keeps_the_desired_essence_not_a_copy() -> None:
    spec: dict[str, Any] = {"Name": "web", "TaskTemplate": {"ContainerSpec": {"Image": "x"}}}
    live = ObservedObject("service", "web", "id1", 7, {"ID": "id1", "Spec": spec})
    wanted = {"Name": "web", "Image": "x", "Replicas": 1}
    memo = PlanMemo()
    with memo.live.round():
        essence, diff = memo.service_diff(live, {}, wanted, lambda: {"Name": "web", "Image": "x", "Replicas": 1})
    assert essence is wanted and diff == ()
    other = {"Name": "web", "Image": "x", "Replicas": True}  # equal to Python, not the same data
    with memo.live.round():
        moved = ObservedObject("service", "web", "id1", 8, {"ID": "id1", "Spec": spec})
        essence, diff = memo.service_diff(moved, {}, other, lambda: {"Name": "web", "Image": "x", "Replicas": 1})
    assert essence is not other and essence == {"Name": "web", "Image": "x", "Replicas": 1}
    assert json.dumps(essence) != json.dumps(other)


def test_a_spec_that_is_not_json_data_is_never_reused() -> None:
    class Odd:
        pass

    spec = {"Name": "web", "Odd": Odd()}
    assert spec_digest(spec) != spec_digest(spec)
