"""The planner on its own: desired state + a snapshot shaped like the engine's answers → actions.

The snapshots here are built from the desired specs the way Engine 20.10 stores them (IDs for
network targets, server-side fields added); the integration tests prove the same against the lab.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.keys import ResourceKey
from reconciler.core.labels import MANAGED_BY
from reconciler.engine.planning import PlanOptions, make_plan
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.state.desired import DesiredState, compile_desired
from reconciler.state.observed import observe_snapshot
from reconciler.state.plan import Action, ObjectState, Plan
from reconciler.state.snapshot import Snapshot

API = "reconciler.swarm/v1alpha1"


def doc(kind: str, name: str, spec: dict[str, Any], **metadata: Any) -> dict[str, Any]:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name, **metadata}, "spec": spec}


def desired_of(tmp_path: Path, *docs: dict[str, Any], instance: str = "reconciler") -> DesiredState:
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(docs))
    return compile_desired(load_manifests(tmp_path), instance)


def as_live(desired: DesiredState) -> Snapshot:
    """What the engine returns after creating every desired object."""
    networks, configs, secrets, services = [], [], [], []
    ids = {}
    for index, item in enumerate(desired.objects):
        spec = copy.deepcopy(item.spec)
        object_id = f"id{index:020d}"
        if item.swarm_kind == "network":
            ids[item.swarm_name] = object_id
            options = {"com.docker.network.driver.overlay.vxlanid_list": "4097", **spec["Options"]}
            ipam = spec.get("IPAM") or {
                "Driver": "default",
                "Config": [{"Subnet": "10.0.9.0/24", "Gateway": "10.0.9.1"}],
            }
            networks.append({**spec, "Id": object_id, "Options": options, "IPAM": ipam, "Scope": "swarm"})
        elif item.swarm_kind in ("config", "secret"):
            (configs if item.swarm_kind == "config" else secrets).append(
                {"ID": object_id, "Version": {"Index": 1}, "Spec": spec}
            )
        else:
            task = spec["TaskTemplate"]
            task.update(ForceUpdate=0, Runtime="container")
            task["ContainerSpec"]["Isolation"] = "default"
            for attachment in task.get("Networks", []):
                attachment["Target"] = ids.get(attachment["Target"], attachment["Target"])
            for mount in task["ContainerSpec"].get("Mounts", []):
                if mount.get("ReadOnly") is False:
                    del mount["ReadOnly"]
            if "EndpointSpec" in spec:
                spec["EndpointSpec"]["Mode"] = "vip"
            services.append({"ID": object_id, "Version": {"Index": 7}, "Spec": spec})
    return Snapshot(services, networks, configs, secrets, [])


def plan(desired: DesiredState, snapshot: Snapshot, **options: Any) -> Plan:
    return make_plan(desired, observe_snapshot(snapshot), PlanOptions(**options))


def actions(result: Plan) -> dict[str, Action]:
    return {f"{c.key}@{c.swarm_name}": c.action for c in result.changes}


def basic(tmp_path: Path, **service: Any) -> DesiredState:
    return desired_of(
        tmp_path,
        doc("Network", "net", {"attachable": True}),
        doc("Config", "conf", {"data": "x"}),
        doc("Service", "web", {"image": "nginx:1", "networks": ["net"], "configs": [{"name": "conf"}], **service}),
    )


def test_everything_is_created_in_dependency_order(tmp_path: Path) -> None:
    desired = desired_of(
        tmp_path,
        doc("Service", "app", {"image": "app:1", "dependsOn": ["Service/db"]}),
        doc("Service", "db", {"image": "db:1"}),
        doc("Network", "net", {}),
        doc("Secret", "pw", {"external": True}),
    )
    result = plan(desired, Snapshot())
    assert [c.key for c in result.changes] == ["Network/net", "Service/db", "Service/app"]
    assert all(c.action is Action.CREATE for c in result.changes)


def test_what_was_applied_plans_as_noop(tmp_path: Path) -> None:
    desired = basic(
        tmp_path, ports=[{"target": 80, "published": 8080, "mode": "host"}], mounts=[{"tmpfs": True, "target": "/t"}]
    )
    assert plan(desired, as_live(desired)).in_sync


def test_a_changed_manifest_is_an_update_and_a_hand_change_is_drift(tmp_path: Path) -> None:
    applied = basic(tmp_path, replicas=1)
    live = as_live(applied)
    changed = basic(tmp_path, replicas=3)
    [update] = [c for c in plan(changed, live).changes if c.action is Action.UPDATE]
    assert update.key == "Service/web" and not update.drift
    assert [(d.field, d.before, d.after) for d in update.diff] == [("Mode.Replicas", 1, 3)]

    live.services[0]["Spec"]["Labels"]["by-hand"] = "yes"
    [drift] = [c for c in plan(applied, live).changes if c.action is Action.UPDATE]
    assert drift.drift and drift.reason == "changed in the swarm since it was applied"


def test_an_unmanaged_object_is_a_conflict_unless_adopted(tmp_path: Path) -> None:
    desired = basic(tmp_path)
    live = as_live(desired)
    del live.services[0]["Spec"]["Labels"][MANAGED_BY]
    [conflict] = [c for c in plan(desired, live).changes if c.key == "Service/web"]
    assert conflict.action is Action.CONFLICT and "--adopt" in conflict.reason
    [adopted] = [c for c in plan(desired, live, adopt=True).changes if c.key == "Service/web"]
    assert adopted.action is Action.UPDATE and adopted.reason.startswith("adopted")

    live.services[0]["Spec"]["Labels"][MANAGED_BY] = "other"
    [other] = [c for c in plan(desired, live, adopt=True).changes if c.key == "Service/web"]
    assert other.action is Action.CONFLICT and "'other'" in other.reason


def test_the_adopt_annotation_adopts(tmp_path: Path) -> None:
    desired = desired_of(tmp_path, doc("Network", "net", {}, annotations={"reconciler.swarm/adopt": "true"}))
    live = as_live(desired)
    del live.networks[0]["Labels"][MANAGED_BY]
    [adopted] = plan(desired, live).changes
    assert adopted.action is Action.REPLACE and "cannot be relabelled" in adopted.reason  # unused: replaced


def test_a_changed_network_is_replaced_only_when_unused(tmp_path: Path) -> None:
    applied = desired_of(tmp_path, doc("Network", "net", {"attachable": False}))
    changed = desired_of(tmp_path, doc("Network", "net", {"attachable": True}))
    assert plan(changed, as_live(applied)).changes[0].action is Action.REPLACE

    applied = basic(tmp_path)
    changed = desired_of(
        tmp_path,
        doc("Network", "net", {"internal": True}),
        doc("Config", "conf", {"data": "x"}),
        doc("Service", "web", {"image": "nginx:1", "networks": ["net"], "configs": [{"name": "conf"}]}),
    )
    [blocked] = [c for c in plan(changed, as_live(applied)).changes if c.key == "Network/net"]
    assert blocked.action is Action.BLOCKED and "used by web" in blocked.reason


def test_config_rotation_keeps_the_old_version_while_a_service_can_roll_back_to_it(tmp_path: Path) -> None:
    old = basic(tmp_path)
    new = desired_of(
        tmp_path,
        doc("Network", "net", {"attachable": True}),
        doc("Config", "conf", {"data": "y"}),
        doc("Service", "web", {"image": "nginx:1", "networks": ["net"], "configs": [{"name": "conf"}]}),
    )
    old_name = old.get(ResourceKey.of("Config", "conf")).swarm_name  # type: ignore[union-attr]
    live = as_live(old)
    changes = plan(new, live).changes
    # The service still names the old version (and after its update, its previous spec will).
    assert [c.action for c in changes] == [Action.NOOP, Action.CREATE, Action.UPDATE, Action.NOOP]
    assert changes[-1].swarm_name == old_name and changes[-1].state is ObjectState.RETAINED
    assert changes[-1].state.settled and "can roll back" in changes[-1].reason

    # After the update the old version is only in PreviousSpec: still kept.
    [service] = live.services
    updated = copy.deepcopy(service)
    updated["PreviousSpec"] = service["Spec"]
    config = next(c for c in as_live(new).configs if c["Spec"]["Name"] != old_name)
    updated["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"] = config["Spec"]["Name"]
    after_update = replace(live, services=[updated], configs=[*live.configs, config])
    assert [c.state for c in plan(new, after_update).changes][-1] is ObjectState.RETAINED

    # Once no current or previous spec names it, it is removed.
    del updated["PreviousSpec"]
    released = plan(new, replace(after_update, services=[updated])).changes
    deleted = [c for c in released if c.action is Action.DELETE]
    assert [c.swarm_name for c in deleted] == [old_name] and deleted[0].state is ObjectState.OLD_VERSION


def test_prune_safeguards(tmp_path: Path) -> None:
    old = basic(tmp_path)
    live = as_live(old)
    empty = desired_of(tmp_path, doc("Network", "other", {}))

    kept = plan(empty, live)
    assert {c.key: c.action for c in kept.changes if c.key != "Network/other"} == {
        "Service/web": Action.NOOP, "Config/conf": Action.NOOP, "Network/net": Action.NOOP,
    }  # fmt: skip
    pruned = plan(empty, live, prune=True)
    assert [c.key for c in pruned.changes if c.action is Action.DELETE] == ["Service/web", "Config/conf", "Network/net"]
    limited = plan(empty, live, prune=True, max_prune=2)
    assert {c.action for c in limited.changes if c.key != "Network/other"} == {Action.BLOCKED}

    nothing = compile_desired(ManifestSet(root=tmp_path), "reconciler")
    refused = plan(nothing, live, prune=True)
    assert {c.action for c in refused.changes} == {Action.BLOCKED}
    assert "--allow-empty" in refused.changes[0].reason
    allowed = plan(nothing, live, prune=True, allow_empty=True)
    assert {c.action for c in allowed.changes} == {Action.DELETE}


def test_other_instances_and_unmanaged_objects_are_never_pruned(tmp_path: Path) -> None:
    mine = basic(tmp_path)
    live = as_live(mine)
    theirs = as_live(basic(tmp_path))
    for network in theirs.networks:
        network["Labels"][MANAGED_BY] = "other"
    live.networks.append({**theirs.networks[0], "Name": "theirs"})
    live.networks.append({"Id": "x", "Name": "hand-made", "Driver": "overlay", "Labels": {}, "Scope": "swarm"})
    result = plan(desired_of(tmp_path, doc("Network", "keep", {})), live, prune=True)
    deleted = {c.swarm_name for c in result.changes if c.action is Action.DELETE}
    assert deleted == {"web", "net", mine.get("Config/conf").swarm_name}  # type: ignore[union-attr]


def test_a_missing_external_object_blocks_its_users(tmp_path: Path) -> None:
    desired = desired_of(
        tmp_path,
        doc("Secret", "pw", {"external": True}),
        doc("Service", "web", {"image": "nginx:1", "secrets": [{"name": "pw"}]}),
    )
    [blocked] = plan(desired, Snapshot()).changes
    assert blocked.action is Action.BLOCKED and "Secret/pw" in blocked.reason
    live = Snapshot(secrets=[{"ID": "s1", "Version": {"Index": 1}, "Spec": {"Name": "pw", "Labels": {}}}])
    assert plan(desired, live).changes[0].action is Action.CREATE


def test_secret_values_never_reach_the_plan(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("hunter2-very-secret")
    desired = desired_of(tmp_path, doc("Secret", "pw", {"file": "pw.txt"}))
    text = repr(plan(desired, Snapshot()).as_json())
    assert "hunter2" not in text and "aHVudGVyMi" not in text


def test_an_unmanaged_volume_of_the_hashed_name_is_a_conflict(tmp_path: Path) -> None:
    desired = desired_of(
        tmp_path,
        doc("Volume", "data", {"nfs": {"server": "192.0.2.1", "path": "/x"}}),
        doc("Service", "web", {"image": "nginx:1", "mounts": [{"volume": "data", "target": "/data"}]}),
    )
    [name] = [name for name, _ in desired.volumes.values()]
    stranger = Snapshot(volumes=[{"Name": name, "Driver": "local", "Labels": None}])
    changes = {c.key: c for c in plan(desired, stranger).changes}
    assert (
        changes["Volume/data"].action is Action.CONFLICT
        and "ignoring the manifest's options" in changes["Volume/data"].reason
    )
    assert "Volume/data" in desired.get("Service/web").depends_on  # type: ignore[union-attr]
    assert plan(desired, stranger, adopt=True).changes[0].action is Action.NOOP
    ours = Snapshot(volumes=[{"Name": name, "Driver": "local", "Labels": {MANAGED_BY: "reconciler"}}])
    assert [c.key for c in plan(desired, ours).changes] == ["Service/web"]


def test_the_leader_election_lease_is_never_pruned(tmp_path: Path) -> None:
    lease = {"ID": "l1", "Version": {"Index": 9}, "Spec": {"Name": "reconciler-lease-reconciler", "Labels": {
        MANAGED_BY: "reconciler", "reconciler.swarm/kind": "Lease", "reconciler.swarm/lease-holder": "a"}}}  # fmt: skip
    result = plan(desired_of(tmp_path, doc("Network", "net", {})), Snapshot(configs=[lease]), prune=True)
    assert [c.key for c in result.changes] == ["Network/net"]
