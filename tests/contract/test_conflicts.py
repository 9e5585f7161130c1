"""An unmanaged object with a manifest's name is a conflict and is left alone; ``adopt=True`` (or
the adopt annotation) takes it over; an object of another instance is never adopted."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from reconciler.core.labels import MANAGED_BY, NAME_KEY_KIND, ownership_labels
from reconciler.engine.events import OutcomeStatus
from reconciler.state.content_names import name_key_config
from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm

FOREIGN = {"owner": "ops"}  # the labels a person gave the object by hand


def unmanaged_service(cs: ContractSwarm, base: str) -> dict[str, Any]:
    cs.port.create_service({"Name": cs.name(base), "Labels": dict(FOREIGN), "Mode": {"Replicated": {"Replicas": 0}},
                            "TaskTemplate": {"ContainerSpec": {"Image": cs.image, "Args": ["sleep", "3600"]}}})  # fmt: skip
    live = cs.service(cs.name(base))
    assert live is not None
    return live


def service_doc(cs: ContractSwarm, base: str, **metadata: Any) -> dict[str, Any]:
    return cs.doc("Service", base, {"image": cs.image, "args": ["sleep", "3600"], "replicas": 0}, **metadata)


def outcome_status(result: Any, key: str) -> OutcomeStatus:
    [status] = [o.status for o in result.applied.outcomes if o.change.key == key]
    return status


def test_an_unmanaged_service_is_a_conflict_and_is_left_alone(cs: ContractSwarm) -> None:
    before = unmanaged_service(cs, "web")
    cs.write(service_doc(cs, "web"))
    change = cs.change(cs.plan(), "Service", "web")
    assert change.action is Action.CONFLICT
    assert "not managed by the reconciler" in change.reason and "--adopt" in change.reason

    result = cs.reconcile()
    assert not result.converged
    assert outcome_status(result, cs.key("Service", "web")) is OutcomeStatus.CONFLICT
    after = cs.service(cs.name("web"))
    assert after is not None
    assert after["Version"] == before["Version"] and after["Spec"]["Labels"] == FOREIGN


def test_adopt_takes_over_an_unmanaged_service_in_place(cs: ContractSwarm) -> None:
    before = unmanaged_service(cs, "web")
    cs.write(service_doc(cs, "web"))
    change = cs.change(cs.plan(adopt=True), "Service", "web")
    assert change.action is Action.UPDATE and change.reason.startswith("adopted")

    cs.converge(adopt=True)
    after = cs.service(cs.name("web"))
    assert after is not None and after["ID"] == before["ID"]  # updated, not recreated
    assert after["Spec"]["Labels"][MANAGED_BY] == cs.instance
    assert "owner" not in after["Spec"]["Labels"]  # the manifest is the whole truth once adopted
    assert cs.plan().in_sync  # no adopt needed any more


def test_the_adopt_annotation_adopts_one_object_without_the_option(cs: ContractSwarm) -> None:
    unmanaged_service(cs, "web")
    unmanaged_service(cs, "api")
    cs.write(service_doc(cs, "web", annotations={"reconciler.swarm/adopt": "true"}), service_doc(cs, "api"))
    plan = cs.plan()
    assert cs.change(plan, "Service", "web").action is Action.UPDATE
    assert cs.change(plan, "Service", "api").action is Action.CONFLICT
    result = cs.reconcile()
    assert outcome_status(result, cs.key("Service", "web")) is OutcomeStatus.DONE
    assert outcome_status(result, cs.key("Service", "api")) is OutcomeStatus.CONFLICT


def test_an_unmanaged_network_is_a_conflict_and_adopt_replaces_it(cs: ContractSwarm) -> None:
    network_id = cs.port.create_network({"Name": cs.name("net"), "Driver": "overlay", "Labels": dict(FOREIGN)})
    cs.write(cs.doc("Network", "net", {"attachable": True}))
    change = cs.change(cs.plan(), "Network", "net")
    assert change.action is Action.CONFLICT
    assert f"a network named {cs.name('net')!r} exists and is not managed" in change.reason
    assert not cs.reconcile().converged
    live = cs.network(cs.name("net"))
    assert live is not None and live["Id"] == network_id and live["Attachable"] is False

    change = cs.change(cs.plan(adopt=True), "Network", "net")
    assert change.action is Action.REPLACE  # a network's labels cannot change
    cs.converge(adopt=True)
    live = cs.eventually(lambda: (n := cs.network(cs.name("net"))) and n["Id"] != network_id and n)
    assert live and (live["Labels"] or {}).get(MANAGED_BY) == cs.instance and live["Attachable"] is True
    assert cs.plan().in_sync


@pytest.mark.parametrize("kind", ["Config", "Secret"])
def test_an_unmanaged_config_or_secret_with_the_hashed_name_is_a_conflict_until_adopted(
    cs: ContractSwarm, kind: str
) -> None:
    (cs.folder / "blob.txt").write_text("a = 1\n")
    cs.write(cs.doc(kind, "blob", {"file": "blob.txt"}))
    # A secret's name is keyed by the instance's name key: until one exists, every plan draws another.
    # The key is read only from a config labelled as this instance's (a foreign one is refused).
    labels = ownership_labels(NAME_KEY_KIND, cs.instance, cs.instance)
    cs.port.create_config(
        {"Name": name_key_config(cs.instance), "Labels": labels, "Data": base64.b64encode(bytes(32)).decode()}
    )
    swarm_name = cs.change(cs.plan(), kind, "blob").swarm_name
    assert swarm_name.startswith(cs.name("blob") + "-")
    create = cs.port.create_config if kind == "Config" else cs.port.create_secret
    create({"Name": swarm_name, "Data": base64.b64encode(b"a = 1\n").decode(), "Labels": dict(FOREIGN)})

    change = cs.change(cs.plan(), kind, "blob")
    assert change.action is Action.CONFLICT and change.swarm_name == swarm_name
    assert not cs.reconcile().converged

    assert cs.change(cs.plan(adopt=True), kind, "blob").action is Action.UPDATE
    cs.converge(adopt=True)
    snapshot = cs.port.snapshot()
    [live] = [
        o for o in (snapshot.configs if kind == "Config" else snapshot.secrets) if o["Spec"]["Name"] == swarm_name
    ]
    assert live["Spec"]["Labels"][MANAGED_BY] == cs.instance
    assert cs.plan().in_sync


def test_an_object_of_another_instance_is_never_adopted(cs: ContractSwarm) -> None:
    other = ContractSwarm(cs.backend, cs.port, cs.folder, f"{cs.instance}-other", cs.prefix, cs.image)
    cs.write(cs.doc("Network", "net", {}), service_doc(cs, "web"))
    other.converge()
    before = cs.service(cs.name("web"))
    assert before is not None

    for adopt in (False, True):
        plan = cs.plan(adopt=adopt)
        for kind, base in (("Network", "net"), ("Service", "web")):
            change = cs.change(plan, kind, base)
            assert change.action is Action.CONFLICT, (adopt, change)
            assert f"managed by instance {other.instance!r}" in change.reason
    result = cs.reconcile(adopt=True)
    assert {o.status for o in result.applied.outcomes} == {OutcomeStatus.CONFLICT}
    after = cs.service(cs.name("web"))
    assert after is not None and after["Version"] == before["Version"]
    assert after["Spec"]["Labels"][MANAGED_BY] == other.instance
