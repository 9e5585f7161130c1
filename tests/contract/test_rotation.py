"""Configs and secrets are named by their content: changed content is a new object, the services move
to it, and the old one is removed once no service uses it (kept, and said so, while one still does)."""

from __future__ import annotations

import base64

import pytest

from reconciler.engine.events import OutcomeStatus
from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm


def write(cs: ContractSwarm, kind: str, content: str) -> None:
    (cs.folder / "blob.txt").write_text(content)
    ref, target = ("configs", "/etc/blob") if kind == "Config" else ("secrets", "blob")
    cs.write(
        cs.doc(kind, "blob", {"file": "blob.txt"}),
        cs.doc(
            "Service", "app", {"image": cs.image, "replicas": 0, ref: [{"name": cs.name("blob"), "target": target}]}
        ),
    )


def referenced(cs: ContractSwarm, kind: str) -> str:
    live = cs.service(cs.name("app"))
    assert live is not None
    [ref] = live["Spec"]["TaskTemplate"]["ContainerSpec"][f"{kind}s"]
    return str(ref[f"{kind}Name"])


@pytest.mark.parametrize("kind", ["Config", "Secret"])
def test_changed_content_rotates_to_a_new_object_and_removes_the_old(cs: ContractSwarm, kind: str) -> None:
    swarm_kind = kind.lower()
    write(cs, kind, "one\n")
    cs.converge()
    old = referenced(cs, kind)
    assert cs.names(swarm_kind, "blob") == {old}

    write(cs, kind, "two\n")
    plan = cs.plan()
    create = cs.change(plan, kind, "blob")
    assert create.action is Action.CREATE and create.swarm_name != old
    assert cs.change(plan, "Service", "app").action is Action.UPDATE
    delete = cs.change(plan, kind, "blob", old_version=True)
    assert delete.action is Action.DELETE and delete.swarm_name == old
    # Create the new one, move the service, remove the old one: in that order.
    assert [c.action for c in plan.changes if c.changes_something] == [Action.CREATE, Action.UPDATE, Action.DELETE]

    result = cs.converge()
    assert {o.status for o in result.applied.outcomes} == {OutcomeStatus.DONE}
    assert referenced(cs, kind) == create.swarm_name
    assert cs.names(swarm_kind, "blob") == {create.swarm_name}
    assert cs.plan().in_sync


def test_an_old_config_still_used_by_an_unmanaged_service_is_kept(cs: ContractSwarm) -> None:
    write(cs, "Config", "one\n")
    cs.converge()
    old = referenced(cs, "Config")
    [old_config] = [c for c in cs.port.snapshot().configs if c["Spec"]["Name"] == old]
    cs.port.create_service({
        "Name": cs.name("byhand"),
        "TaskTemplate": {"ContainerSpec": {"Image": cs.image, "Configs": [
            {"ConfigID": old_config["ID"], "ConfigName": old,
             "File": {"Name": "/c", "UID": "0", "GID": "0", "Mode": 0o444}},
        ]}},
        "Mode": {"Replicated": {"Replicas": 0}},
    })  # fmt: skip

    write(cs, "Config", "two\n")
    result = cs.reconcile()
    assert result.converged  # kept is not a failure
    [kept] = [o for o in result.applied.outcomes if o.change.action is Action.DELETE]
    assert kept.status is OutcomeStatus.KEPT and old in kept.message
    assert len(cs.names("config", "blob")) == 2

    # Once the other service lets go of it, the next pass removes it.
    byhand = cs.service(cs.name("byhand"))
    assert byhand is not None
    cs.port.remove_service(byhand["ID"])
    cs.converge()
    assert cs.names("config", "blob") == {referenced(cs, "Config")}
    assert cs.plan().in_sync


def test_the_stored_config_holds_the_new_content(cs: ContractSwarm) -> None:
    write(cs, "Config", "one\n")
    cs.converge()
    write(cs, "Config", "two\n")
    cs.converge()
    [config] = [c for c in cs.port.snapshot().configs if c["Spec"]["Name"] == referenced(cs, "Config")]
    assert base64.b64decode(config["Spec"]["Data"]) == b"two\n"
