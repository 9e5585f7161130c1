"""Create, then noop forever after: for every kind, on both backends."""

from __future__ import annotations

from typing import Any

import pytest

from reconciler.engine.events import OutcomeStatus
from reconciler.state.plan import Action, Plan
from tests.contract.conftest import ContractSwarm


def not_noop(plan: Plan) -> list[tuple[str, str, str, list[str]]]:
    """What a plan would still do, readably, for an assert message."""
    return [(c.key, c.action, c.reason, [d.field for d in c.diff]) for c in plan.changes if c.action is not Action.NOOP]


def assert_noop_forever(cs: ContractSwarm, passes: int = 3, **options: Any) -> None:
    for _ in range(passes):
        plan = cs.plan(**options)
        assert plan.in_sync, not_noop(plan)
        assert set(plan.counts()) == {"noop"}


def assert_adopted_without_restart(
    cs: ContractSwarm, base: str, task_template: dict[str, Any], spec: dict[str, Any]
) -> None:
    """A one-replica Service made by hand with ``task_template`` (the CLI's stored form), then adopted
    from a manifest with ``spec``, keeps its tasks (no update restarted them) and stays a no-op."""
    cs.port.create_service({
        "Name": cs.name(base), "Labels": {"owner": "ops"}, "Mode": {"Replicated": {"Replicas": 1}},
        "TaskTemplate": task_template,
    })  # fmt: skip
    before = cs.task_ids(base)
    assert before
    cs.write(cs.doc("Service", base, spec, annotations={"reconciler.swarm/adopt": "true"}))
    cs.converge()
    assert cs.task_ids(base) == before
    assert_noop_forever(cs)


def networks(cs: ContractSwarm) -> list[dict[str, Any]]:
    return [
        cs.doc("Network", "plain", {}),
        cs.doc("Network", "front", {"attachable": True, "labels": {"tier": "front"}}),
        cs.doc("Network", "secure", {"internal": True, "encrypted": True}),
        cs.doc("Network", "pinned", {"ipam": {"subnet": cs.subnet(0), "gateway": cs.subnet(0).replace(".0/24", ".1")}}),
        cs.doc("Network", "nogw", {"ipam": {"subnet": cs.subnet(1)}}),  # the engine fills in the gateway
    ]


def full_service(cs: ContractSwarm) -> dict[str, Any]:
    """A service with (nearly) every field set; no replicas, so nothing binds its host ports."""
    return cs.doc(
        "Service",
        "full",
        {
            "image": cs.image,
            "command": ["/bin/sh", "-c"],
            "args": ["sleep 3600"],
            "env": {"B": "2", "A": "1"},
            "replicas": 0,
            "networks": [cs.name("front"), {"name": cs.name("secure"), "aliases": ["full-be", "alias2"]}],
            "mounts": [
                {"volume": cs.name("nfs"), "target": "/data"},
                {"volume": cs.name("local"), "target": "/scratch", "readOnly": True},
                {"bind": "/tmp", "target": "/host-tmp", "readOnly": True},
                {"tmpfs": True, "target": "/run/x"},
            ],
            "configs": [{"name": cs.name("conf"), "target": "/etc/app.conf", "mode": "0440"}],
            "secrets": [{"name": cs.name("pw"), "uid": "1000", "gid": "1000", "mode": "0400"}],
            "placement": {
                "constraints": ["node.role == manager", "node.platform.os == linux"],
                "preferences": [{"spread": "node.labels.zone"}],
                "maxReplicasPerNode": 2,
            },
            "resources": {"limits": {"cpus": 0.5, "memory": "64M"}, "reservations": {"cpus": "0.1", "memory": "8Mi"}},
            "healthcheck": {"test": ["CMD", "true"], "interval": "10s", "timeout": "2s", "retries": 2,
                            "startPeriod": "1s"},
            "updateConfig": {"parallelism": 2, "delay": "1s", "failureAction": "rollback", "monitor": "2s",
                             "maxFailureRatio": 0.5, "order": "start-first"},
            "rollbackConfig": {"parallelism": 1, "order": "stop-first"},
            "restartPolicy": {"condition": "on-failure", "delay": "2s", "maxAttempts": 3, "window": "30s"},
            "ports": [{"target": 80, "published": 18180, "mode": "host"},
                      {"target": 53, "published": 18153, "protocol": "udp", "mode": "host"}],
            "labels": {"tier": "web"},
            "containerLabels": {"c": "d"},
            "user": "1000:1000",
            "workdir": "/tmp",
            "hostname": "full-host",
            "capAdd": ["NET_ADMIN"],
            "capDrop": ["MKNOD"],
            "stopGracePeriod": "3s",
        },
    )  # fmt: skip


def every_kind(cs: ContractSwarm) -> list[dict[str, Any]]:
    (cs.folder / "secret.txt").write_text("s3cret\n")
    return [
        *networks(cs),
        cs.doc("Volume", "nfs", {"nfs": {"server": "192.0.2.10", "path": "/srv/data", "version": "4.2",
                                         "options": ["rw", "hard"]}}),
        cs.doc("Volume", "local", {"driver": "local", "labels": {"keep": "yes"}}),
        cs.doc("Config", "conf", {"data": "key = value\n", "labels": {"a": "b"}}),
        cs.doc("Config", "tmpl", {"data": "node {{.Node.Hostname}}\n", "template": "golang"}),
        cs.doc("Secret", "pw", {"file": "secret.txt"}),
        cs.doc("Middleware", "hsts", {"type": "headers", "options": {"stsSeconds": 60}}),
        full_service(cs),
        cs.doc("Service", "global", cs.sleeper(mode="global", networks=[cs.name("front")])),
        cs.doc("Service", "runs", cs.sleeper(replicas=1, mounts=[{"volume": cs.name("local"), "target": "/v"}])),
        cs.doc("Route", "full", {"service": cs.name("full"), "port": 80, "hosts": ["full.test"],
                                 "middlewares": [cs.name("hsts")], "tls": {"certResolver": "le"},
                                 "entryPoints": ["websecure"], "network": cs.name("front")}),
    ]  # fmt: skip


def test_every_kind_is_created_then_plans_noop_forever(cs: ContractSwarm) -> None:
    cs.write(*every_kind(cs))
    first = cs.plan()
    assert {c.action for c in first.changes} == {Action.CREATE}
    # 5 networks, 2 configs, a secret, 3 services; volumes, routes and middlewares ride in the services;
    # and the instance's secret-name key (a config), made with the first secret
    assert first.counts() == {"create": 12}

    result = cs.converge()
    assert {o.status for o in result.applied.outcomes} == {OutcomeStatus.DONE}
    assert_noop_forever(cs)
    # The locally driven volume is made on the node by the task that mounts it: it belongs to this
    # instance, so it plans as nothing to do either.
    assert cs.eventually(lambda: any(v.startswith(cs.name("local") + "-") for v in cs.volume_names()))
    assert_noop_forever(cs, passes=1)


@pytest.mark.parametrize(
    ("kind", "base"),
    [("Network", "plain"), ("Network", "front"), ("Network", "secure"), ("Network", "pinned"), ("Network", "nogw")],
)
def test_each_network_plans_noop_after_apply(cs: ContractSwarm, kind: str, base: str) -> None:
    [document] = [d for d in networks(cs) if d["metadata"]["name"] == cs.name(base)]
    cs.write(document)
    assert cs.plan().counts() == {"create": 1}
    cs.converge()
    assert_noop_forever(cs)


def test_config_secret_and_service_with_every_field_plan_noop_after_apply(cs: ContractSwarm) -> None:
    (cs.folder / "secret.txt").write_text("s3cret\n")
    cs.write(
        *[d for d in networks(cs) if d["metadata"]["name"] in (cs.name("front"), cs.name("secure"))],
        cs.doc("Volume", "nfs", {"nfs": {"server": "192.0.2.10", "path": "/srv/data"}}),
        cs.doc("Volume", "local", {"driver": "local"}),
        cs.doc("Config", "conf", {"data": "key = value\n"}),
        cs.doc("Secret", "pw", {"file": "secret.txt", "labels": {"rotate": "yearly"}}),
        full_service(cs),
    )
    cs.converge()
    assert_noop_forever(cs)
    spec = cs.service(cs.name("full"))
    assert spec is not None
    container = spec["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert {m["Target"] for m in container["Mounts"]} == {"/data", "/scratch", "/host-tmp", "/run/x"}
    assert [p["PublishMode"] for p in spec["Spec"]["EndpointSpec"]["Ports"]] == ["host", "host"]


def test_routes_and_middlewares_ride_in_their_service_and_plan_noop(cs: ContractSwarm) -> None:
    cs.write(
        cs.doc("Network", "web", {"attachable": True}),
        cs.doc("Middleware", "hsts", {"type": "headers", "options": {"stsSeconds": 60}}),
        cs.doc("Service", "app", {"image": cs.image, "replicas": 0, "networks": [cs.name("web")]}),
        cs.doc("Route", "app", {"service": cs.name("app"), "port": 80, "hosts": ["app.test"],
                                "middlewares": [cs.name("hsts")], "network": cs.name("web")}),
    )  # fmt: skip
    assert cs.plan().counts() == {"create": 2}  # the network and the service: the route is labels
    cs.converge()
    assert_noop_forever(cs)
    live = cs.service(cs.name("app"))
    assert live is not None
    labels = live["Spec"]["Labels"]
    assert labels[f"traefik.http.routers.{cs.name('app')}.rule"] == "Host(`app.test`)"
    assert labels[f"traefik.http.middlewares.{cs.name('hsts')}.headers.stsSeconds"] == "60"


def test_a_volume_mounted_by_a_running_service_is_made_on_the_node_and_plans_noop(cs: ContractSwarm) -> None:
    cs.write(
        cs.doc("Volume", "data", {"driver": "local"}),
        cs.doc("Service", "db", cs.sleeper(replicas=1, mounts=[{"volume": cs.name("data"), "target": "/data"}])),
    )
    cs.converge()
    assert len(cs.task_ids("db")) == 1
    volume = cs.eventually(lambda: {v for v in cs.volume_names() if v.startswith(cs.name("data") + "-")})
    assert len(volume) == 1
    assert_noop_forever(cs)


def test_a_virtual_ip_is_a_config_and_a_global_service_and_plans_noop(cs: ContractSwarm) -> None:
    """The keepalived image is absent on purpose: on the lab no VRRP address may ever appear."""
    [node] = cs.port.snapshot().nodes
    (cs.folder / "pw").write_text("vrrp4ex\n")
    cs.write(
        cs.doc("Secret", "vrrp", {"file": "pw"}),
        cs.doc("VirtualIP", "floating", {
            "addresses": ["10.213.99.250/24"], "interface": "srl-absent0", "routerId": 77,
            "priorities": {node["Description"]["Hostname"]: 150, "elsewhere": 50},
            "password": {"secret": cs.name("vrrp")}, "image": "lab/absent-keepalived:1",
            "checks": [{"name": "web", "type": "tcp", "port": 18080}],
        }),
    )  # fmt: skip
    # the secret-name key, the secret, the keepalived.conf config, the service
    assert cs.plan().counts() == {"create": 4}
    cs.converge(dependency_timeout=5)
    live = cs.service(f"vip-{cs.name('floating')}")
    assert live is not None and live["Spec"]["Mode"] == {"Global": {}}
    assert_noop_forever(cs)


@pytest.mark.parametrize(
    "spec",
    [
        {"healthcheck": {"test": ["CMD", "true"], "retries": 0}},
        {"healthcheck": {"test": ["CMD", "true"], "interval": "0s"}},
        {"resources": {"limits": {"memory": "0"}}},
    ],
    ids=["retries-0", "interval-0s", "memory-0"],
)
def test_zero_values_the_engine_leaves_out_plan_noop_after_apply(cs: ContractSwarm, spec: dict[str, Any]) -> None:
    cs.write(cs.doc("Service", "svc", {"image": cs.image, "replicas": 0, **spec}))
    cs.converge()
    assert_noop_forever(cs, passes=1)
