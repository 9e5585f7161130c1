"""Manifest changes update only what differs: a label-only change keeps every task, a change to the
task template replaces them; a changed network is replaced while unused and blocked while used."""

from __future__ import annotations

from typing import Any

from reconciler.engine.events import OutcomeStatus
from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm


def web(cs: ContractSwarm, **spec: Any) -> dict[str, Any]:
    return cs.doc("Service", "web", cs.sleeper(**{"replicas": 2, "labels": {"tier": "web"}, **spec}))


def test_a_label_only_change_keeps_every_task(cs: ContractSwarm) -> None:
    cs.write(web(cs))
    cs.converge()
    before = cs.task_ids("web", running=2)
    assert len(before) == 2

    cs.write(web(cs, labels={"tier": "web", "team": "blue"}))
    change = cs.change(cs.plan(), "Service", "web")
    assert change.action is Action.UPDATE and not change.drift
    assert [d.field for d in change.diff] == ["Labels.team"]
    cs.converge()
    live = cs.service(cs.name("web"))
    assert live is not None and live["Spec"]["Labels"]["team"] == "blue"
    assert cs.task_ids("web", running=2) == before
    assert cs.plan().in_sync


def test_a_route_added_to_a_service_keeps_every_task(cs: ContractSwarm) -> None:
    cs.write(web(cs))
    cs.converge()
    before = cs.task_ids("web", running=2)
    cs.write(web(cs), cs.doc("Route", "web", {"service": cs.name("web"), "port": 80, "hosts": ["web.test"]}))
    change = cs.change(cs.plan(), "Service", "web")
    assert change.action is Action.UPDATE and all(d.field.startswith("Labels.") for d in change.diff)
    cs.converge()
    assert cs.task_ids("web", running=2) == before


def test_an_env_change_replaces_the_tasks(cs: ContractSwarm) -> None:
    cs.write(web(cs, replicas=1))
    cs.converge()
    before = cs.task_ids("web")
    assert len(before) == 1

    cs.write(web(cs, replicas=1, env={"COLOR": "green"}))
    change = cs.change(cs.plan(), "Service", "web")
    assert change.action is Action.UPDATE
    assert [d.field for d in change.diff] == ["ContainerSpec.Env"]
    cs.converge()
    live = cs.service(cs.name("web"))
    assert live is not None and live["Spec"]["TaskTemplate"]["ContainerSpec"]["Env"] == ["COLOR=green"]
    after = cs.eventually(lambda: (ids := cs.task_ids("web")) and not ids & before and ids)
    assert after and not after & before
    assert cs.plan().in_sync


def test_a_scale_change_keeps_the_running_task(cs: ContractSwarm) -> None:
    cs.write(web(cs, replicas=1))
    cs.converge()
    before = cs.task_ids("web")
    cs.write(web(cs, replicas=2))
    cs.converge()
    after = cs.task_ids("web", running=2)
    assert len(after) == 2 and before < after


def test_an_unused_network_is_replaced_and_a_used_one_is_blocked(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Network", "net", {"attachable": False}))
    cs.converge()
    cs.write(cs.doc("Network", "net", {"attachable": True}))
    assert [c.action for c in cs.plan().changes] == [Action.REPLACE]
    cs.converge()
    live = cs.network(cs.name("net"))
    assert live is not None and live["Attachable"] is True
    assert cs.plan().in_sync

    service = cs.doc("Service", "web", {"image": cs.image, "replicas": 0, "networks": [cs.name("net")]})
    cs.write(cs.doc("Network", "net", {"attachable": True}), service)
    cs.converge()
    cs.write(cs.doc("Network", "net", {"attachable": False}), service)
    change = cs.change(cs.plan(), "Network", "net")
    assert change.action is Action.BLOCKED and cs.name("web") in change.reason
    result = cs.reconcile()
    assert not result.converged
    statuses = {o.change.key: o.status for o in result.applied.outcomes}
    assert statuses[cs.key("Network", "net")] is OutcomeStatus.BLOCKED
    live = cs.network(cs.name("net"))
    assert live is not None and live["Attachable"] is True


def test_a_published_port_change_replaces_the_tasks(cs: ContractSwarm) -> None:
    """The endpoint is part of what makes a task dirty (swarmkit's ``IsTaskDirty``)."""
    port = 19000 + cs.subnet_seed
    cs.write(web(cs, replicas=1, ports=[{"target": 8080, "published": port, "mode": "host"}]))
    cs.converge()
    before = cs.task_ids("web")
    assert len(before) == 1
    cs.write(web(cs, replicas=1, ports=[{"target": 8080, "published": port + 300, "mode": "host"}]))
    cs.converge()
    after = cs.eventually(lambda: (ids := cs.task_ids("web")) and not ids & before and ids)
    assert after and not after & before


def test_a_placement_constraint_change_the_node_still_meets_keeps_the_task(cs: ContractSwarm) -> None:
    cs.write(web(cs, replicas=1))
    cs.converge()
    before = cs.task_ids("web")
    cs.write(web(cs, replicas=1, placement={"constraints": ["node.role == manager"]}))
    change = cs.change(cs.plan(), "Service", "web")
    assert [d.field for d in change.diff] == ["Placement"]  # none before
    cs.converge()
    assert cs.task_ids("web") == before
