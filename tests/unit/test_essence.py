"""Essences: what the engine adds or re-spells never counts as a difference."""

from __future__ import annotations

import copy
from typing import Any

from reconciler.core.labels import APPLIED_HASH, REQUESTED_IMAGE
from reconciler.state.essence import config_essence, network_essence, service_essence

SPEC: dict[str, Any] = {
    "Name": "web",
    "Labels": {REQUESTED_IMAGE: "nginx:1.27", "tier": "web"},
    "TaskTemplate": {
        "ContainerSpec": {"Image": "nginx:1.27", "Env": ["B=2", "A=1"], "Mounts": [{"Type": "tmpfs", "Target": "/b"}, {"Type": "tmpfs", "Target": "/a"}]},
        "Networks": [{"Target": "net-b"}, {"Target": "net-a", "Aliases": ["x"]}],
    },
    "Mode": {"Replicated": {"Replicas": 2}},
}  # fmt: skip


def test_a_digest_pinned_image_is_the_image_asked_for() -> None:
    pinned = copy.deepcopy(SPEC)
    pinned["TaskTemplate"]["ContainerSpec"]["Image"] = "nginx:1.27@sha256:" + "a" * 64
    assert service_essence(pinned, {}) == service_essence(SPEC, {})
    other = copy.deepcopy(SPEC)
    other["TaskTemplate"]["ContainerSpec"]["Image"] = "nginx:1.26@sha256:" + "a" * 64
    assert service_essence(other, {}) != service_essence(SPEC, {})


def test_what_the_engine_and_the_cli_fill_in_is_no_difference() -> None:
    live = copy.deepcopy(SPEC)
    live["Labels"][APPLIED_HASH] = "0123"
    live["TaskTemplate"].update(
        ForceUpdate=0, Runtime="container", Resources={"Limits": {}, "Reservations": {}}, Placement={}
    )
    container = live["TaskTemplate"]["ContainerSpec"]
    container.update(Isolation="default", Init=False, DNSConfig={}, StopGracePeriod=10_000_000_000)
    container["Env"].reverse()
    container["Mounts"].reverse()
    live["TaskTemplate"]["Networks"] = [{"Target": "id-a", "Aliases": ["x"]}, {"Target": "id-b"}]
    live["TaskTemplate"]["RestartPolicy"] = {"Condition": "any", "Delay": 5_000_000_000, "MaxAttempts": 0}
    defaults = {
        "Parallelism": 1,
        "FailureAction": "pause",
        "Monitor": 5_000_000_000,
        "MaxFailureRatio": 0,
        "Order": "stop-first",
    }
    live["UpdateConfig"], live["RollbackConfig"] = dict(defaults), dict(defaults)
    live["EndpointSpec"] = {"Mode": "vip"}
    assert service_essence(live, {"id-a": "net-a", "id-b": "net-b"}) == service_essence(SPEC, {})


def test_zero_replicas_and_global_mode_stay_distinct() -> None:
    zero = copy.deepcopy(SPEC)
    zero["Mode"] = {"Replicated": {"Replicas": 0}}
    glob = copy.deepcopy(SPEC)
    glob["Mode"] = {"Global": {}}
    assert service_essence(zero, {})["Mode"] == {"Replicas": 0}
    assert service_essence(glob, {})["Mode"] == {"Global": True}


def test_a_policy_that_differs_from_the_defaults_counts() -> None:
    changed = copy.deepcopy(SPEC)
    changed["UpdateConfig"] = {"Parallelism": 2}
    assert service_essence(changed, {})["UpdateConfig"]["Parallelism"] == 2
    assert "UpdateConfig" not in service_essence({**SPEC, "UpdateConfig": {"Parallelism": 1}}, {})


def test_network_subnet_counts_only_when_pinned_and_vxlan_is_ignored() -> None:
    live = {"Name": "n", "Driver": "overlay", "Attachable": True, "Internal": False, "Labels": {"a": "b"},
            "Options": {"com.docker.network.driver.overlay.vxlanid_list": "4097"},
            "IPAM": {"Config": [{"Subnet": "10.0.9.0/24", "Gateway": "10.0.9.1"}]}}  # fmt: skip
    wanted = {
        "Name": "n",
        "Driver": "overlay",
        "Attachable": True,
        "Internal": False,
        "Labels": {"a": "b"},
        "Options": {},
    }
    assert network_essence(live, with_ipam=False) == network_essence(wanted, with_ipam=False)
    assert network_essence(live, with_ipam=True)["IPAM"] == [{"Subnet": "10.0.9.0/24", "Gateway": "10.0.9.1"}]


def test_config_essence_ignores_the_applied_hash_label() -> None:
    spec = {"Name": "c-1234abcd", "Labels": {"a": "b"}, "Data": "eA=="}
    live = {"ID": "x", "Version": {"Index": 3}, "Spec": {**spec, "Labels": {"a": "b", APPLIED_HASH: "z"}}}
    assert config_essence(live) == config_essence(spec) == {"Name": "c-1234abcd", "Labels": {"a": "b"}}
