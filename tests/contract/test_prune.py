"""Pruning: off unless asked (objects kept and reported); only this instance's objects, services
first and networks last; at most ``max_prune`` per pass; never from an empty manifest set unless
``allow_empty``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.engine.events import OutcomeStatus
from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm

STACK = (("Service", "web"), ("Secret", "pw"), ("Config", "conf"), ("Network", "net"))


def stack(cs: ContractSwarm) -> list[dict[str, Any]]:
    """A network, a config, a secret and a service that uses all three."""
    (cs.folder / "pw.txt").write_text("pw\n")
    return [
        cs.doc("Network", "net", {}),
        cs.doc("Config", "conf", {"data": "a = 1\n"}),
        cs.doc("Secret", "pw", {"file": "pw.txt"}),
        cs.doc("Service", "web", {
            "image": cs.image, "replicas": 0, "networks": [cs.name("net")],
            "configs": [{"name": cs.name("conf"), "target": "/etc/a.conf"}], "secrets": [{"name": cs.name("pw")}],
        }),
    ]  # fmt: skip


def keeper(cs: ContractSwarm) -> dict[str, Any]:
    return cs.doc("Network", "keep", {})


def exists(cs: ContractSwarm, kind: str, base: str) -> bool:
    return bool(cs.names(kind.lower(), base))


def deployed(cs: ContractSwarm) -> None:
    cs.write(keeper(cs), *stack(cs))
    cs.converge()
    assert all(exists(cs, kind, base) for kind, base in STACK)


def empty_folder(cs: ContractSwarm) -> Path:
    folder = cs.folder.parent / "empty"
    folder.mkdir()
    (folder / "nothing.yaml").write_text("# nothing here\n---\n")
    return folder


def test_without_prune_removed_objects_are_kept_and_reported(cs: ContractSwarm) -> None:
    deployed(cs)
    cs.write(keeper(cs))
    plan = cs.plan()
    assert plan.in_sync  # nothing would change...
    kept = [c for c in plan.changes if "--prune" in c.reason]  # ...but they are reported
    assert {c.key for c in kept} == {cs.key(kind, base) for kind, base in STACK}
    assert {c.action for c in kept} == {Action.NOOP}
    assert all(c.reason == "not in the manifests; kept (prune with --prune)" for c in kept)

    result = cs.reconcile()
    assert result.converged
    assert all(exists(cs, kind, base) for kind, base in STACK)


def test_prune_deletes_what_left_the_manifests_services_first_networks_last(cs: ContractSwarm) -> None:
    deployed(cs)
    cs.write(keeper(cs))
    result = cs.converge(prune=True)
    deletes = [c for c in result.plan.changes if c.action is Action.DELETE]
    assert [c.key for c in deletes] == [cs.key(kind, base) for kind, base in STACK]
    assert all(c.reason == "managed, and no longer in the manifests" for c in deletes)
    assert {o.status for o in result.applied.outcomes if o.change.action is Action.DELETE} == {OutcomeStatus.DONE}
    assert not any(exists(cs, kind, base) for kind, base in STACK)
    assert exists(cs, "Network", "keep")
    assert cs.plan(prune=True).in_sync


def test_a_network_whose_tasks_are_still_stopping_goes_away(cs: ContractSwarm) -> None:
    """The engine accepts the removal at once but may list the network until its last task is gone."""
    cs.write(keeper(cs), cs.doc("Network", "net", {}), cs.doc("Service", "run", cs.sleeper(networks=[cs.name("net")])))
    cs.converge()
    assert len(cs.task_ids("run")) == 1
    cs.write(keeper(cs))
    result = cs.converge(prune=True)
    assert [c.key for c in result.plan.changes if c.action is Action.DELETE] == [
        cs.key("Service", "run"),
        cs.key("Network", "net"),
    ]
    assert cs.service(cs.name("run")) is None
    assert cs.eventually(lambda: cs.network(cs.name("net")) is None)
    assert cs.converge(prune=True).plan.in_sync  # a second pass finds nothing left to do


def test_prune_never_touches_unmanaged_objects_or_another_instances(cs: ContractSwarm) -> None:
    deployed(cs)
    cs.port.create_network({"Name": cs.name("manual"), "Driver": "overlay", "Labels": {"owner": "ops"}})
    cs.port.create_service({"Name": cs.name("manual"), "TaskTemplate": {"ContainerSpec": {"Image": cs.image}},
                            "Mode": {"Replicated": {"Replicas": 0}}})  # fmt: skip
    other = ContractSwarm(cs.backend, cs.port, cs.folder.parent / "other", f"{cs.instance}-other", cs.prefix, cs.image)
    other.folder.mkdir()
    other.write(other.doc("Network", "theirs", {}))
    other.converge()

    cs.write(keeper(cs))
    result = cs.converge(prune=True)
    pruned = {c.key for c in result.plan.changes if c.action is Action.DELETE}
    assert pruned == {cs.key(kind, base) for kind, base in STACK}
    assert exists(cs, "Network", "manual") and cs.service(cs.name("manual")) is not None
    assert exists(cs, "Network", "theirs")
    assert other.plan().in_sync


def test_more_than_max_prune_blocks_the_whole_prune(cs: ContractSwarm) -> None:
    cs.write(keeper(cs), cs.doc("Network", "a", {}), cs.doc("Network", "b", {}))
    cs.converge()
    cs.write(keeper(cs))

    result = cs.reconcile(prune=True, max_prune=1)
    assert not result.converged
    blocked = [c for c in result.plan.changes if c.action is Action.BLOCKED]
    assert {c.key for c in blocked} == {cs.key("Network", "a"), cs.key("Network", "b")}
    assert all("would prune 2 objects, more than --max-prune 1: nothing pruned" in c.reason for c in blocked)
    assert {o.status for o in result.applied.outcomes if o.change in blocked} == {OutcomeStatus.BLOCKED}
    assert exists(cs, "Network", "a") and exists(cs, "Network", "b")

    cs.converge(prune=True, max_prune=2)
    assert cs.eventually(lambda: not exists(cs, "Network", "a") and not exists(cs, "Network", "b"))


def test_an_empty_manifest_set_never_prunes_without_allow_empty(cs: ContractSwarm) -> None:
    deployed(cs)
    empty = empty_folder(cs)
    everything = (*STACK, ("Network", "keep"))

    assert cs.reconcile(folder=empty).converged  # without prune: everything kept
    result = cs.reconcile(folder=empty, prune=True)
    assert not result.converged
    assert {c.action for c in result.plan.changes} == {Action.BLOCKED}
    assert len(result.plan.changes) == len(everything)
    assert all("the manifest set is empty" in c.reason and "--allow-empty" in c.reason for c in result.plan.changes)
    assert all(exists(cs, kind, base) for kind, base in everything)

    pruned = cs.converge(folder=empty, prune=True, allow_empty=True)
    assert {c.action for c in pruned.plan.changes} == {Action.DELETE}
    assert cs.eventually(lambda: not any(exists(cs, kind, base) for kind, base in everything))
