"""Inputs that ``validate`` now accepts because the engine does, converging on both backends: a
700 KB config (the engine takes up to 1000 KiB), a network named the way ``docker stack deploy``
names it (``<stack>_public``) as an external network a Service and a Route use, and two configs whose
63-character names differ only at the end, which become two Swarm objects."""

from __future__ import annotations

from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm


def test_a_700_kb_config_converges(cs: ContractSwarm) -> None:
    (cs.folder / "big.conf").write_bytes(b"x" * 700_000)
    cs.write(
        cs.doc("Config", "big", {"file": "big.conf"}),
        cs.doc("Service", "web", cs.sleeper(replicas=0, configs=[{"name": cs.name("big"), "target": "/big.conf"}])),
    )
    cs.converge()
    assert len(cs.names("config", "big")) == 1
    assert cs.plan().in_sync


def test_a_stack_network_is_used_as_an_external_network(cs: ContractSwarm) -> None:
    stack_network = f"{cs.prefix}_public"  # what `docker stack deploy` makes for a stack named after the prefix
    cs.port.create_network({"Name": stack_network, "Driver": "overlay", "Attachable": True, "Labels": {}})
    cs.write(
        {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "Network", "metadata": {"name": stack_network},
         "spec": {"external": True}},
        cs.doc("Service", "web", cs.sleeper(replicas=0, networks=[stack_network])),
        cs.doc("Route", "web", {"service": cs.name("web"), "port": 80, "hosts": ["web.test"], "network": stack_network}),
    )  # fmt: skip
    plan = cs.plan()
    assert cs.change(plan, "Service", "web").action is Action.CREATE
    cs.converge()
    live = cs.service(cs.name("web"))
    assert live is not None and live["Spec"]["Labels"]["traefik.swarm.network"] == stack_network
    assert cs.plan().in_sync


def test_configs_differing_only_at_the_end_of_a_long_name_are_two_objects(cs: ContractSwarm) -> None:
    room = 63 - len(cs.name(""))
    first, second = "a" * (room - 1) + "1", "a" * (room - 1) + "2"
    cs.write(cs.doc("Config", first, {"data": "same"}), cs.doc("Config", second, {"data": "same"}))
    cs.converge()
    start = cs.name("a" * 10)
    names = {c["Spec"]["Name"] for c in cs.port.snapshot().configs if c["Spec"]["Name"].startswith(start)}
    assert len(names) == 2 and all(len(name) <= 63 for name in names), names
    assert cs.plan().in_sync
