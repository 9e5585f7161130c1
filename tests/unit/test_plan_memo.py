"""The plan memo (``state.plan_memo``) gives exactly the plan that planning from scratch gives, over
random edits of both sides: manifests changed (a label, an image, a network, a secret's content, which
renames it under the instance's key), the swarm changed behind the controller's back (a label, an env
entry, the name key removed, so that each pass draws another), passes applied in between. Each step plans the same observation twice, with the controller's
memo and without; the plans must be equal, change by change. Also: a spec changed in place under the
same version is not taken from the memo, and the memo keeps one pass's objects only."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.engine.planning import PlanOptions, make_plan
from reconciler.engine.reconcile import reconcile_once, resolve_nodes
from reconciler.runtime.manifest_source import Loaded, ManifestSource, Unchanged
from reconciler.state.content_names import name_key_config, resolve_names
from reconciler.state.desired import DesiredState
from reconciler.state.observed import ObservedState, observe_snapshot
from reconciler.state.plan import Plan
from reconciler.state.plan_memo import PlanMemo
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"
SERVICES = ("a", "b", "c")
NETWORKS = ("n1", "n2")
SECRETS = ("s1", "s2")


def _doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def _service(name: str, label: int, image: int, network: str, secret: str) -> dict[str, Any]:
    spec = {"image": f"x:{image}", "replicas": 0, "labels": {"v": str(label)}, "networks": [network],
            "secrets": [{"name": secret}], "configs": [{"name": "conf"}]}  # fmt: skip
    return _doc("Service", name, spec)


def _write_all(folder: Path) -> None:
    (folder / "files").mkdir()
    for secret in SECRETS:
        (folder / "files" / f"{secret}.txt").write_text(f"{secret} 0\n")
    shared = [_doc("Network", n, {}) for n in NETWORKS] + [
        _doc("Secret", s, {"file": f"files/{s}.txt"}) for s in SECRETS
    ]
    shared.append(_doc("Config", "conf", {"data": "conf\n"}))
    (folder / "shared.yaml").write_text(yaml.safe_dump_all(shared))
    for name in SERVICES:
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(_service(name, 0, 1, "n1", "s1")))


Step = tuple[str, str, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["label", "image", "network", "secret-ref", "secret-content", "drift-label", "drift-env",
                         "drop-key", "apply", "nothing"]),
        st.sampled_from(SERVICES),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=12,
)  # fmt: skip


def _edit(folder: Path, swarm: FakeSwarm, step: Step) -> None:
    what, name, n = step
    path = folder / f"{name}.yaml"
    service = yaml.safe_load(path.read_text())
    spec = service["spec"]
    if what == "label":
        spec["labels"]["v"] = str(n)
    elif what == "image":
        spec["image"] = f"x:{n + 1}"
    elif what == "network":
        spec["networks"] = [NETWORKS[n % 2]]
    elif what == "secret-ref":
        spec["secrets"] = [{"name": SECRETS[n % 2]}]
    elif what == "secret-content":
        (folder / "files" / f"{SECRETS[n % 2]}.txt").write_text(f"{SECRETS[n % 2]} {n}\n")
    elif what == "drop-key":
        for config in swarm.snapshot().configs:
            if config["Spec"]["Name"] == name_key_config("t"):
                swarm.remove_config(config["ID"])
    elif what.startswith("drift-"):
        live = next((s for s in swarm.snapshot().services if s["Spec"]["Name"] == name), None)
        if live is not None:
            changed = copy.deepcopy(live["Spec"])
            if what == "drift-label":
                changed["Labels"]["drift"] = str(n)
            else:
                changed["TaskTemplate"]["ContainerSpec"]["Env"] = [f"X={n}"]
            swarm.update_service(live["ID"], live["Version"]["Index"], changed)
    path.write_text(yaml.safe_dump(service))


def _plans(desired: DesiredState, observed: ObservedState, memo: PlanMemo, key: int = 0) -> tuple[Plan, Plan]:
    """The plan with the memo and without; ``key``: the fresh name key both draw (when the swarm has none)."""
    with_memo = resolve_names(desired, observed, False, bytes([key]) * 32, memo)
    fresh = resolve_names(desired, observed, False, bytes([key]) * 32)
    assert with_memo.objects == fresh.objects
    return (
        make_plan(resolve_nodes(with_memo, observed), observed, PlanOptions(memo=memo)),
        make_plan(resolve_nodes(fresh, observed), observed, PlanOptions()),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps)
def test_the_memo_plans_as_planning_from_scratch(sequence: list[Step]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _write_all(folder)
        swarm = FakeSwarm()
        source = ManifestSource(folder, "t")
        memo = PlanMemo()
        assert isinstance(source.load(), Loaded) and source.desired is not None
        reconcile_once(swarm, source.desired, PlanOptions(memo=memo), dependency_timeout=5)
        for step in sequence:
            _edit(folder, swarm, step)
            assert isinstance(source.load(), Loaded | Unchanged) and source.desired is not None
            observed = observe_snapshot(swarm.snapshot())
            for _ in range(2):  # the second time, everything the memo may hold is from this very pass
                with_memo, fresh = _plans(source.desired, observed, memo, step[2])
                assert with_memo.changes == fresh.changes
            if step[0] == "apply":
                result = reconcile_once(swarm, source.desired, PlanOptions(memo=memo), dependency_timeout=5)
                assert result.error is None
        assert memo.live.hits > 0  # it was used, not only filled


def _converged(folder: Path) -> tuple[FakeSwarm, ManifestSource, PlanMemo]:
    """The test set written, loaded and applied once with a memo, which that pass filled."""
    _write_all(folder)
    swarm, source, memo = FakeSwarm(), ManifestSource(folder, "t"), PlanMemo()
    source.load()
    assert source.desired is not None
    reconcile_once(swarm, source.desired, PlanOptions(memo=memo), dependency_timeout=5)
    return swarm, source, memo


def test_a_spec_changed_in_place_is_planned_again(tmp_path: Path) -> None:
    swarm, source, memo = _converged(tmp_path)
    assert source.desired is not None
    snapshot = swarm.snapshot()
    observed = observe_snapshot(snapshot)
    assert all(c.diff == () for c in _plans(source.desired, observed, memo)[0].changes)
    snapshot.services[0]["Spec"]["Labels"]["v"] = "changed in place"  # same object, same version
    with_memo, fresh = _plans(source.desired, observed, memo)
    assert with_memo.changes == fresh.changes
    assert any(c.diff for c in with_memo.changes)


def test_the_memo_keeps_the_last_pass_only(tmp_path: Path) -> None:
    swarm, source, memo = _converged(tmp_path)
    assert source.desired is not None
    assert len(memo.live) == len(SERVICES) and len(memo.renamed) == len(SERVICES)  # every service uses a secret
    (tmp_path / "b.yaml").unlink()
    (tmp_path / "c.yaml").unlink()
    source.load()
    _plans(source.desired, observe_snapshot(swarm.snapshot()), memo)  # type: ignore[arg-type]
    assert len(memo.live) == 1 and len(memo.renamed) == 1
