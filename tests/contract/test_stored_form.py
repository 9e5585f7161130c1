"""One test per Engine quirk in ``reconciler.state.stored_form.QUIRKS``: send a spec through the
port, read it back from ``snapshot()``, and assert what the quirk says is stored. On the lab this
checks the quirk list against a real engine; on the fake it checks that ``FakeSwarm`` stores the
same. The last three quirks are about comparing rather than storing: their tests also show that a
spec written out the docker CLI's way plans as nothing to do."""

from __future__ import annotations

import base64
import ipaddress
import sys
from typing import Any

import pytest

from reconciler.state.stored_form import (
    POLICY_DEFAULTS,
    QUIRKS,
    RESTART_DEFAULTS,
    SECOND,
    STOP_GRACE_DEFAULT,
    VXLAN_OPTION,
)
from reconciler.swarm.port import ApiObject, SwarmError
from tests.contract.conftest import ContractSwarm


def test_every_quirk_has_a_test() -> None:
    tests = {name for name in dir(sys.modules[__name__]) if name.startswith("test_")}
    missing = [q.name for q in QUIRKS if f"test_{q.name.replace('-', '_')}" not in tests]
    assert not missing, f"quirks without a test in {__name__}: {missing}"


# -- helpers ---------------------------------------------------------------------------------------


def stored_service(cs: ContractSwarm, base: str, **spec: Any) -> ApiObject:
    """Create a service (no tasks) from a raw ServiceSpec; its stored ``Spec``."""
    body = {"Name": cs.name(base), "Mode": {"Replicated": {"Replicas": 0}}, **spec}
    body.setdefault("TaskTemplate", {"ContainerSpec": {"Image": cs.image}})
    service_id = cs.port.create_service(body)
    [live] = [s for s in cs.port.snapshot().services if s["ID"] == service_id]
    return dict(live["Spec"])


def stored_network(cs: ContractSwarm, base: str, **spec: Any) -> ApiObject:
    """Create a network from a raw create body; as listed once the swarm has allocated it (a real
    engine lists a new network for a moment with no driver and no IPAM pools)."""
    network_id = cs.port.create_network({"Name": cs.name(base), "Driver": "overlay", **spec})

    def allocated() -> ApiObject | None:
        [live] = [n for n in cs.port.snapshot().networks if n["Id"] == network_id]
        return dict(live) if live.get("Driver") and (live.get("IPAM") or {}).get("Config") else None

    live = cs.eventually(allocated, timeout=10)
    assert live is not None
    return live


def data(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def deployed_service(cs: ContractSwarm, **spec: Any) -> None:
    """A ``Service`` manifest applied by the reconciler (no tasks)."""
    cs.write(cs.doc("Service", "svc", {"image": cs.image, "replicas": 0, **spec}))
    cs.converge()


# -- storing ---------------------------------------------------------------------------------------


def test_omit_empty(cs: ContractSwarm) -> None:
    spec = stored_service(
        cs,
        "svc",
        Labels={"kept": ""},  # a map's values are kept, even empty ones
        TaskTemplate={
            "ContainerSpec": {
                "Image": cs.image, "Env": [], "Labels": {}, "Hostname": "", "ReadOnly": False,
                "Mounts": [{"Type": "tmpfs", "Target": "/x", "ReadOnly": False}],
                "Healthcheck": {"Test": ["CMD", "true"], "Retries": 0, "Interval": 0},
                "StopGracePeriod": 0,
            },
            "Resources": {"Limits": {"NanoCPUs": 0, "MemoryBytes": 0}},
            "Placement": {"Constraints": [], "MaxReplicas": 0},
            "RestartPolicy": {"Condition": "any", "MaxAttempts": 0, "Delay": 0},
            "Networks": [],
        },
        UpdateConfig={"Parallelism": 1, "Delay": 0, "Monitor": 0},
    )  # fmt: skip
    assert spec["Labels"] == {"kept": ""}
    task = spec["TaskTemplate"]
    assert task["ContainerSpec"] == {
        "Image": cs.image,
        "Mounts": [{"Type": "tmpfs", "Target": "/x"}],
        "Healthcheck": {"Test": ["CMD", "true"]},
        "StopGracePeriod": 0,  # a pointer: its zero stays
        "Isolation": "default",
    }
    assert task["Resources"] == {"Limits": {}}  # empty structs stay
    assert task["Placement"] == {}
    assert task["RestartPolicy"] == {"Condition": "any", "MaxAttempts": 0, "Delay": 0}  # pointers
    assert "Networks" not in task
    assert spec["Mode"] == {"Replicated": {"Replicas": 0}}  # a pointer: 0 replicas is not 1
    assert "Delay" not in spec["UpdateConfig"] and "Monitor" not in spec["UpdateConfig"]


def test_annotation_labels(cs: ContractSwarm) -> None:
    assert stored_service(cs, "bare")["Labels"] == {}
    assert stored_service(cs, "labelled", Labels={"a": "b"})["Labels"] == {"a": "b"}
    cs.port.create_config({"Name": cs.name("conf"), "Data": data("x")})
    cs.port.create_secret({"Name": cs.name("pw"), "Data": data("x")})
    snapshot = cs.port.snapshot()
    for listing in (snapshot.configs, snapshot.secrets):
        [item] = [o for o in listing if o["Spec"]["Name"].startswith(cs.prefix)]
        assert item["Spec"]["Labels"] == {}
    assert stored_network(cs, "bare")["Labels"] is None
    assert stored_network(cs, "labelled", Labels={"a": "b"})["Labels"] == {"a": "b"}


def test_task_server_fields(cs: ContractSwarm) -> None:
    task = stored_service(cs, "svc")["TaskTemplate"]
    assert task["ForceUpdate"] == 0 and task["Runtime"] == "container"


def test_container_isolation(cs: ContractSwarm) -> None:
    assert stored_service(cs, "svc")["TaskTemplate"]["ContainerSpec"]["Isolation"] == "default"
    process = stored_service(cs, "proc", TaskTemplate={"ContainerSpec": {"Image": cs.image, "Isolation": "process"}})
    assert process["TaskTemplate"]["ContainerSpec"]["Isolation"] == "process"


def test_runtime_as_sent(cs: ContractSwarm) -> None:
    runtime = {
        "Ulimits": [{"Name": "nproc", "Hard": 200, "Soft": 100}, {"Name": "core", "Hard": 0, "Soft": 0}],
        "Sysctls": {"net.core.somaxconn": "1024"},
        "Init": False,
        "StopSignal": "usr1",
        "Hosts": ["10.0.0.1 db.local", "not-an-address x"],
        "DNSConfig": {"Nameservers": ["9.9.9.9", "1.1.1.1"], "Search": ["b.org", "a.org"], "Options": ["ndots:2"]},
        "Groups": ["video", "1000"],
    }
    spec = stored_service(cs, "svc", TaskTemplate={"ContainerSpec": {"Image": cs.image, **runtime}})
    container = spec["TaskTemplate"]["ContainerSpec"]
    assert {key: container[key] for key in runtime} == runtime


def test_task_settings_as_sent(cs: ContractSwarm) -> None:
    log = {"Name": "no-such-driver", "Options": {"max-size": "10m", "x": "1"}}
    resources = {"Limits": {"Pids": 50}, "Reservations": {"GenericResources": [
        {"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}}, {"NamedResourceSpec": {"Kind": "a", "Value": "b"}},
    ]}}  # fmt: skip
    mounts = [{"Type": "tmpfs", "Target": "/a", "TmpfsOptions": {"SizeBytes": 1 << 26, "Mode": 0o1777}},
              {"Type": "tmpfs", "Target": "/b", "TmpfsOptions": {}}]  # fmt: skip
    task = stored_service(cs, "svc", TaskTemplate={
        "ContainerSpec": {"Image": cs.image, "Mounts": mounts}, "LogDriver": log, "Resources": resources,
    })["TaskTemplate"]  # fmt: skip
    assert task["LogDriver"] == log and task["Resources"] == resources
    assert task["ContainerSpec"]["Mounts"] == mounts and mounts[0]["TmpfsOptions"]["Mode"] == 1023


def test_empty_privileges(cs: ContractSwarm) -> None:
    spec = stored_service(cs, "svc", TaskTemplate={"ContainerSpec": {"Image": cs.image, "Privileges": {}}})
    privileges = dict(spec["TaskTemplate"]["ContainerSpec"]["Privileges"])
    assert privileges.pop("NoNewPrivileges", False) is False  # the field is new in API 1.44: not on 20.10
    assert privileges == {"CredentialSpec": None, "SELinuxContext": None}


def test_endpoint_mode_vip(cs: ContractSwarm) -> None:
    ports = [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 18080 + cs.subnet_seed, "PublishMode": "host"}]
    assert stored_service(cs, "ports", EndpointSpec={"Ports": ports})["EndpointSpec"] == {"Mode": "vip", "Ports": ports}
    assert "EndpointSpec" not in stored_service(cs, "none")


def test_port_defaults(cs: ContractSwarm) -> None:
    spec = stored_service(cs, "svc", EndpointSpec={"Ports": [{"TargetPort": 80}]})
    assert spec["EndpointSpec"]["Ports"] == [{"Protocol": "tcp", "TargetPort": 80, "PublishMode": "ingress"}]


def test_policy_enums(cs: ContractSwarm) -> None:
    spec = stored_service(cs, "sent", UpdateConfig={"Parallelism": 2}, RollbackConfig={"Delay": SECOND})
    assert spec["UpdateConfig"] == {"Parallelism": 2, "FailureAction": "pause", "MaxFailureRatio": 0,
                                    "Order": "stop-first"}  # fmt: skip
    assert spec["RollbackConfig"] == {"Parallelism": 0, "Delay": SECOND, "FailureAction": "pause",
                                      "MaxFailureRatio": 0, "Order": "stop-first"}  # fmt: skip
    none = stored_service(cs, "none")
    assert "UpdateConfig" not in none and "RollbackConfig" not in none


def test_network_target_ids(cs: ContractSwarm) -> None:
    network = stored_network(cs, "net")
    task = stored_service(cs, "svc", TaskTemplate={
        "ContainerSpec": {"Image": cs.image}, "Networks": [{"Target": cs.name("net"), "Aliases": ["a"]}],
    })["TaskTemplate"]  # fmt: skip
    assert task["Networks"] == [{"Target": network["Id"], "Aliases": ["a"]}]


@pytest.mark.parametrize("kind", ["Config", "Secret"])
def test_reference_ids(cs: ContractSwarm, kind: str) -> None:
    create = cs.port.create_config if kind == "Config" else cs.port.create_secret
    object_id = create({"Name": cs.name("blob"), "Data": data("x")})
    ref = {"File": {"Name": "/blob", "UID": "0", "GID": "0", "Mode": 0o444}, f"{kind}Name": cs.name("blob")}

    def service(base: str, **ids: str) -> ApiObject:
        return stored_service(
            cs, base, TaskTemplate={"ContainerSpec": {"Image": cs.image, f"{kind}s": [{**ref, **ids}]}}
        )

    stored = service("svc", **{f"{kind}ID": object_id})["TaskTemplate"]["ContainerSpec"][f"{kind}s"]
    assert stored == [{**ref, f"{kind}ID": object_id}]
    with pytest.raises(SwarmError) as no_id:
        service("noid")
    assert no_id.value.status == 400 and f"malformed {kind.lower()} reference" in str(no_id.value)
    with pytest.raises(SwarmError) as unknown:
        service("unknown", **{f"{kind}ID": "doesnotexist0000000000000"})
    assert unknown.value.status == 400 and f"{kind.lower()} not found: {cs.name('blob')}" in str(unknown.value)
    assert not [s for s in cs.port.snapshot().services if s["Spec"]["Name"] != cs.name("svc") and
                s["Spec"]["Name"].startswith(cs.prefix)]  # fmt: skip


def test_overlay_vxlan_option(cs: ContractSwarm) -> None:
    ids = [int(stored_network(cs, base)["Options"][VXLAN_OPTION]) for base in ("one", "two")]
    assert len(set(ids)) == 2 and min(ids) >= 4097


def test_ipam_default_pool(cs: ContractSwarm) -> None:
    ipam = stored_network(cs, "net")["IPAM"]
    assert ipam["Driver"] == "default"
    [pool] = ipam["Config"]
    subnet = ipaddress.ip_network(pool["Subnet"])
    assert subnet.prefixlen == 24 and pool["Gateway"] == str(next(subnet.hosts()))


def test_ipam_gateway_filled(cs: ContractSwarm) -> None:
    ipam = stored_network(cs, "net", IPAM={"Driver": "default", "Config": [{"Subnet": cs.subnet(2)}]})["IPAM"]
    assert ipam["Config"] == [{"Subnet": cs.subnet(2), "Gateway": cs.subnet(2).replace(".0/24", ".1")}]


def test_secret_data_hidden(cs: ContractSwarm) -> None:
    cs.port.create_secret({"Name": cs.name("pw"), "Data": data("s3cret")})
    cs.port.create_config({"Name": cs.name("conf"), "Data": data("open")})
    snapshot = cs.port.snapshot()
    [secret] = [s for s in snapshot.secrets if s["Spec"]["Name"] == cs.name("pw")]
    [config] = [c for c in snapshot.configs if c["Spec"]["Name"] == cs.name("conf")]
    assert "Data" not in secret["Spec"]
    assert base64.b64decode(config["Spec"]["Data"]) == b"open"


def test_data_update_compared(cs: ContractSwarm) -> None:
    """A label update that sends the same Data passes, other Data is refused: the engine compares a
    secret's value although it never returns it (what adopting a stack's secret relies on)."""
    for kind, create, update in (("secret", cs.port.create_secret, cs.port.update_secret),
                                 ("config", cs.port.create_config, cs.port.update_config)):  # fmt: skip
        name = cs.name(f"cmp-{kind}")
        object_id = create({"Name": name, "Data": data("same")})
        [live] = [o for o in getattr(cs.port.snapshot(), f"{kind}s") if o["ID"] == object_id]
        with pytest.raises(SwarmError, match="only updates to Labels are allowed"):
            update(object_id, live["Version"]["Index"], {"Name": name, "Data": data("other"), "Labels": {"a": "1"}})
        update(object_id, live["Version"]["Index"], {"Name": name, "Data": data("same"), "Labels": {"a": "1"}})
        [live] = [o for o in getattr(cs.port.snapshot(), f"{kind}s") if o["ID"] == object_id]
        assert live["Spec"]["Labels"] == {"a": "1"}


# -- comparing: what the docker CLI writes is no difference -----------------------------------------


def test_policy_defaults(cs: ContractSwarm) -> None:
    deployed_service(cs)

    def cli_style(spec: dict[str, Any]) -> None:
        spec["UpdateConfig"] = dict(POLICY_DEFAULTS)
        spec["RollbackConfig"] = dict(POLICY_DEFAULTS)
        spec["TaskTemplate"]["RestartPolicy"] = dict(RESTART_DEFAULTS)

    cs.hand_edit_service("svc", cli_style)
    live = cs.service(cs.name("svc"))
    assert live is not None
    stored_policy = {k: v for k, v in POLICY_DEFAULTS.items() if k != "Delay"}  # Delay 0 is omitted
    assert live["Spec"]["UpdateConfig"] == live["Spec"]["RollbackConfig"] == stored_policy
    assert live["Spec"]["TaskTemplate"]["RestartPolicy"] == RESTART_DEFAULTS
    assert cs.plan().in_sync


def test_stop_grace_default(cs: ContractSwarm) -> None:
    deployed_service(cs)
    cs.hand_edit_service(
        "svc", lambda spec: spec["TaskTemplate"]["ContainerSpec"].update(StopGracePeriod=STOP_GRACE_DEFAULT)
    )
    live = cs.service(cs.name("svc"))
    assert live is not None and live["Spec"]["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"] == 10 * SECOND
    assert cs.plan().in_sync


def test_unordered_lists(cs: ContractSwarm) -> None:
    cs.write(
        cs.doc("Network", "a", {}),
        cs.doc("Network", "b", {}),
        cs.doc("Config", "one", {"data": "1\n"}),
        cs.doc("Config", "two", {"data": "2\n"}),
        cs.doc("Service", "svc", {
            "image": cs.image, "replicas": 0, "env": {"A": "1", "B": "2"}, "capAdd": ["NET_ADMIN", "SYS_TIME"],
            "ulimits": {"nofile": 1024, "nproc": {"soft": 10, "hard": 20}}, "groupAdd": ["audio", "video"],
            "dns": {"options": ["ndots:2", "rotate"]},
            "resources": {"reservations": {"genericResources": [{"kind": "gpu", "value": 1}, {"kind": "fpga", "value": 2}]}},
            "networks": [cs.name("a"), cs.name("b")],
            "mounts": [{"tmpfs": True, "target": "/x"}, {"tmpfs": True, "target": "/y"}],
            "configs": [{"name": cs.name("one"), "target": "/one"}, {"name": cs.name("two"), "target": "/two"}],
            "placement": {"constraints": ["node.role == manager", "node.platform.os == linux"]},
            "ports": [{"target": 80, "published": 18100, "mode": "host"},
                      {"target": 81, "published": 18101, "mode": "host"}],
        }),
    )  # fmt: skip
    cs.converge()
    sent: dict[str, Any] = {}

    def reverse_every_list(spec: dict[str, Any]) -> None:
        task, container = spec["TaskTemplate"], spec["TaskTemplate"]["ContainerSpec"]
        for holder, key in ((container, "Env"), (container, "CapabilityAdd"), (container, "Mounts"),
                            (container, "Ulimits"), (container, "Groups"), (container["DNSConfig"], "Options"),
                            (container, "Configs"), (task, "Networks"), (task["Placement"], "Constraints"),
                            (spec["EndpointSpec"], "Ports"),
                            (task["Resources"]["Reservations"], "GenericResources")):  # fmt: skip
            assert len(holder[key]) == 2, key
            holder[key] = holder[key][::-1]
            sent[key] = holder[key]

    cs.hand_edit_service("svc", reverse_every_list)
    live = cs.service(cs.name("svc"))
    assert live is not None
    task = live["Spec"]["TaskTemplate"]
    stored = {**task["ContainerSpec"], **task["ContainerSpec"]["DNSConfig"], "Networks": task["Networks"],
              "Constraints": task["Placement"]["Constraints"], "Ports": live["Spec"]["EndpointSpec"]["Ports"],
              "GenericResources": task["Resources"]["Reservations"]["GenericResources"]}  # fmt: skip
    assert {key: stored[key] for key in sent} == sent  # stored in the order sent...
    assert cs.plan().in_sync  # ...and no order counts as a difference


def test_job_defaults(cs: ContractSwarm) -> None:
    """moby daemon/cluster/convert/service.go ServiceSpecToGRPC: a ReplicatedJob's MaxConcurrent
    defaults to 1 and its TotalCompletions to MaxConcurrent (docker stack deploy sends neither for a
    job without replicas); a GlobalJob stays {}. The tasks (the image's default command) complete."""
    for index, (sent, stored) in enumerate(
        (
            ({"ReplicatedJob": {}}, {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}),
            ({"ReplicatedJob": {"MaxConcurrent": 2}}, {"ReplicatedJob": {"MaxConcurrent": 2, "TotalCompletions": 2}}),
            (
                {"ReplicatedJob": {"TotalCompletions": 2}},
                {"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 2}},
            ),
            ({"GlobalJob": {}}, {"GlobalJob": {}}),
        )
    ):
        assert stored_service(cs, f"job{index}", Mode=sent)["Mode"] == stored, sent


def test_mode_kind_fixed(cs: ContractSwarm) -> None:
    """swarmkit controlapi/service.go UpdateService: a replicated service cannot become a job (nor
    global, nor the other way); the count within one kind can change."""
    stored_service(cs, "fixed")
    [live] = [s for s in cs.port.snapshot().services if s["Spec"]["Name"] == cs.name("fixed")]
    for mode in ({"ReplicatedJob": {"MaxConcurrent": 1, "TotalCompletions": 1}}, {"Global": {}}):
        with pytest.raises(SwarmError, match="service mode change is not allowed"):
            cs.port.update_service(live["ID"], live["Version"]["Index"], {**live["Spec"], "Mode": mode})
    cs.port.update_service(
        live["ID"], live["Version"]["Index"], {**live["Spec"], "Mode": {"Replicated": {"Replicas": 0}}}
    )
