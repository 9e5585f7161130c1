"""Endpoint mode: a dnsrr service stays dnsrr (an adoption or an update never turns it into vip),
and plans noop after apply, on the in-memory swarm and on the lab engine."""

from __future__ import annotations

from tests.contract.conftest import ContractSwarm
from tests.contract.test_converge import assert_noop_forever


def test_a_dnsrr_service_is_created_as_dnsrr_and_plans_noop(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Service", "dns", {"image": cs.image, "replicas": 0, "endpointMode": "dnsrr"}))
    cs.converge()
    live = cs.service(cs.name("dns"))
    assert live is not None and live["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"
    assert_noop_forever(cs)


def test_switching_between_vip_and_dnsrr_is_an_update(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Service", "dns", {"image": cs.image, "replicas": 0}))
    cs.converge()
    cs.write(cs.doc("Service", "dns", {"image": cs.image, "replicas": 0, "endpointMode": "dnsrr"}))
    cs.converge()
    live = cs.service(cs.name("dns"))
    assert live is not None and live["Spec"]["EndpointSpec"]["Mode"] == "dnsrr"
    assert_noop_forever(cs)
