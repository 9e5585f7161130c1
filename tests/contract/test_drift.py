"""Drift: a live object changed behind the reconciler's back plans as an update marked ``drift``,
is put back by the next pass, and then plans as nothing to do."""

from __future__ import annotations

from typing import Any

from reconciler.engine.events import OutcomeStatus
from reconciler.state.plan import Action
from tests.contract.conftest import ContractSwarm


def deploy(cs: ContractSwarm) -> None:
    cs.write(
        cs.doc("Network", "net", {}),
        cs.doc("Service", "web", cs.sleeper(replicas=1, networks=[cs.name("net")], labels={"tier": "web"})),
    )
    cs.converge()


def test_a_hand_edit_is_drift_and_the_next_pass_repairs_it(cs: ContractSwarm) -> None:
    deploy(cs)

    def edit(spec: dict[str, Any]) -> None:
        spec["Labels"]["hand"] = "made"
        spec["TaskTemplate"]["ContainerSpec"]["Env"] = ["X=1"]
        spec["Mode"] = {"Replicated": {"Replicas": 2}}

    cs.hand_edit_service("web", edit)
    change = cs.change(cs.plan(), "Service", "web")
    assert change.action is Action.UPDATE
    assert change.drift is True
    assert {d.field for d in change.diff} == {"Labels.hand", "ContainerSpec.Env", "Mode.Replicas"}

    result = cs.converge()
    [outcome] = [o for o in result.applied.outcomes if o.change.key == cs.key("Service", "web")]
    assert outcome.status is OutcomeStatus.DONE and outcome.change.drift
    live = cs.service(cs.name("web"))
    assert live is not None
    assert "hand" not in live["Spec"]["Labels"]
    assert "Env" not in live["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert live["Spec"]["Mode"] == {"Replicated": {"Replicas": 1}}
    assert cs.plan().in_sync


def test_a_manifest_change_is_not_drift(cs: ContractSwarm) -> None:
    deploy(cs)
    cs.write(
        cs.doc("Network", "net", {}),
        cs.doc("Service", "web", cs.sleeper(replicas=1, networks=[cs.name("net")], labels={"tier": "api"})),
    )
    change = cs.change(cs.plan(), "Service", "web")
    assert change.action is Action.UPDATE and change.drift is False


def test_a_removed_route_label_is_drift_and_is_put_back(cs: ContractSwarm) -> None:
    cs.write(
        cs.doc("Service", "web", {"image": cs.image, "replicas": 0}),
        cs.doc("Route", "web", {"service": cs.name("web"), "port": 80, "hosts": ["web.test"]}),
    )
    cs.converge()
    rule = f"traefik.http.routers.{cs.name('web')}.rule"
    cs.hand_edit_service("web", lambda spec: spec["Labels"].pop(rule))
    change = cs.change(cs.plan(), "Service", "web")
    assert change.action is Action.UPDATE and change.drift
    cs.converge()
    live = cs.service(cs.name("web"))
    assert live is not None and live["Spec"]["Labels"][rule] == "Host(`web.test`)"
    assert cs.plan().in_sync


def test_a_deleted_network_config_and_secret_are_created_again(cs: ContractSwarm) -> None:
    (cs.folder / "pw.txt").write_text("pw\n")
    cs.write(
        cs.doc("Network", "net", {"attachable": True}),
        cs.doc("Config", "conf", {"data": "x\n"}),
        cs.doc("Secret", "pw", {"file": "pw.txt"}),
    )
    cs.converge()
    snapshot = cs.port.snapshot()
    [network] = [n for n in snapshot.networks if n["Name"] == cs.name("net")]
    cs.port.remove_network(network["Id"])
    for listing, remove in ((snapshot.configs, cs.port.remove_config), (snapshot.secrets, cs.port.remove_secret)):
        for item in listing:
            if item["Spec"]["Name"].startswith(cs.prefix):
                remove(item["ID"])

    # (A removed network can stay listed for a moment on a real engine.)
    assert cs.eventually(lambda: cs.plan().counts() == {"create": 3}), cs.plan().counts()
    cs.converge()
    assert cs.plan().in_sync
    live = cs.network(cs.name("net"))
    assert live is not None and live["Attachable"] is True
