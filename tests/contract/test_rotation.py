"""Configs and secrets are named by their content: changed content is a new object, the services move
to it, and the old one is removed once no service's spec names it, current or previous (Swarm's own
rollback restores the previous spec); until then it is kept, and the plan says why."""

from __future__ import annotations

import base64

import pytest

from reconciler.engine.events import OutcomeStatus
from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm


def write(cs: ContractSwarm, kind: str, content: str, labels: dict[str, str] | None = None) -> None:
    (cs.folder / "blob.txt").write_text(content)
    ref, target = ("configs", "/etc/blob") if kind == "Config" else ("secrets", "blob")
    mount = {"name": cs.name("blob"), "target": target}
    cs.write(
        cs.doc(kind, "blob", {"file": "blob.txt"}),
        cs.doc("Service", "app", {"image": cs.image, "replicas": 0, "labels": labels or {}, ref: [mount]}),
    )


def referenced(cs: ContractSwarm, kind: str) -> str:
    live = cs.service(cs.name("app"))
    assert live is not None
    [ref] = live["Spec"]["TaskTemplate"]["ContainerSpec"][f"{kind}s"]
    return str(ref[f"{kind}Name"])


@pytest.mark.parametrize("kind", ["Config", "Secret"])
def test_changed_content_rotates_to_a_new_object_and_removes_the_old_once_unused(cs: ContractSwarm, kind: str) -> None:
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
    assert [c.action for c in plan.changes if c.changes_something] == [Action.CREATE, Action.UPDATE]
    retained = cs.change(plan, kind, "blob", old_version=True)
    assert retained.action is Action.NOOP and retained.swarm_name == old
    assert f"kept while {cs.name('app')} can roll back to it" in retained.reason

    result = cs.converge()
    assert referenced(cs, kind) == create.swarm_name
    # Swarm's own rollback would restore the previous spec, which names the old version: it stays.
    assert cs.names(swarm_kind, "blob") == {old, create.swarm_name}
    assert cs.plan().in_sync

    # The service's next update leaves no spec naming it: the pass after removes it.
    write(cs, kind, "two\n", labels={"rolled": "on"})
    cs.converge()
    plan = cs.plan()
    delete = cs.change(plan, kind, "blob", old_version=True)
    assert delete.action is Action.DELETE and delete.swarm_name == old
    result = cs.converge()
    [outcome] = [o for o in result.applied.outcomes if o.change.swarm_name == old]
    assert outcome.status is OutcomeStatus.DONE
    assert cs.names(swarm_kind, "blob") == {create.swarm_name}
    assert cs.plan().in_sync


def test_an_old_version_is_kept_while_an_unmanaged_service_names_it(cs: ContractSwarm) -> None:
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

    # Two rotations: the managed service names neither the first version nor (as its previous
    # spec) the second any more.
    for content in ("two\n", "three\n"):
        write(cs, "Config", content)
        cs.converge()
    current = referenced(cs, "Config")
    plan = cs.plan()
    kept = [c for c in plan.changes if c.swarm_name == old]
    assert [c.action for c in kept] == [Action.NOOP] and cs.name("byhand") in kept[0].reason
    assert old in cs.names("config", "blob")

    # Once the other service lets go of it, the next pass removes it.
    byhand = cs.service(cs.name("byhand"))
    assert byhand is not None
    cs.port.remove_service(byhand["ID"])
    cs.converge()
    assert old not in cs.names("config", "blob") and current in cs.names("config", "blob")
    assert cs.plan().in_sync


def test_the_stored_config_holds_the_new_content(cs: ContractSwarm) -> None:
    write(cs, "Config", "one\n")
    cs.converge()
    write(cs, "Config", "two\n")
    cs.converge()
    [config] = [c for c in cs.port.snapshot().configs if c["Spec"]["Name"] == referenced(cs, "Config")]
    assert base64.b64decode(config["Spec"]["Data"]) == b"two\n"
