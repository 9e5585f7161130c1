"""A VirtualIP becomes a golang-templated keepalived.conf config and a global keepalived service on
the host network; changes rotate the config. No keepalived runs here (the image is absent on
purpose: a VRRP address must never appear on this machine's own interfaces); the multi-node lab
proves the failover itself."""

from __future__ import annotations

import base64
import time

from reconciler.core.labels import MANAGED_BY
from tests.integration.conftest import Workspace

ABSENT_IMAGE = "lab/absent-keepalived:1"


def vip(ws: Workspace, priorities: dict[str, int]) -> list[dict[str, object]]:
    (ws.folder / "pw").write_text("vrrp4ex\n")
    return [
        ws.doc("Secret", "vrrp", {"file": "pw"}),
        ws.doc("VirtualIP", "floating", {
            "addresses": ["10.213.99.250/24"], "interface": "srl-absent0", "routerId": 77, "priorities": priorities,
            "password": {"secret": ws.name("vrrp")}, "image": ABSENT_IMAGE,
            "checks": [{"name": "web", "type": "tcp", "port": 18080}],
        }),
    ]  # fmt: skip


def configs(ws: Workspace) -> list[dict[str, object]]:
    return [
        c
        for c in ws.client.api.configs(filters={"label": f"{MANAGED_BY}={ws.instance}"})
        if "vip-" in c["Spec"]["Name"]
    ]


def test_a_virtual_ip_is_a_templated_config_and_a_global_host_network_service(ws: Workspace) -> None:
    node = ws.client.api.nodes()[0]
    hostname = node["Description"]["Hostname"]
    ws.write(*vip(ws, {hostname: 150, "elsewhere": 50}))
    result = ws.cli("apply", "--yes", "--no-wait", str(ws.folder))
    assert result.exit_code == 0, result.stdout

    service = ws.client.api.inspect_service(f"vip-{ws.name('floating')}")["Spec"]
    assert service["Mode"] == {"Global": {}}
    container = service["TaskTemplate"]["ContainerSpec"]
    assert container["Image"] == ABSENT_IMAGE
    assert set(container["CapabilityAdd"]) == {"CAP_NET_ADMIN", "CAP_NET_BROADCAST", "CAP_NET_RAW"}
    [network] = service["TaskTemplate"]["Networks"]
    assert ws.client.api.inspect_network(network["Target"])["Name"] == "host"
    assert container["Configs"][0]["File"]["Name"] == "/etc/keepalived/keepalived.conf"
    assert container["Secrets"][0]["File"]["Name"] == ws.name("vrrp")
    assert service["UpdateConfig"]["Parallelism"] == 1 and service["UpdateConfig"]["Order"] == "stop-first"

    [config] = configs(ws)
    assert config["Spec"]["Templating"]["Name"] == "golang"
    text = base64.b64decode(config["Spec"]["Data"]).decode()
    assert f'{{{{if eq .Node.ID "{node["ID"]}"}}}}150{{{{else}}}}100{{{{end}}}}' in text
    assert f'{{{{ secret "{ws.name("vrrp")}" }}}}' in text and "vrrp4ex" not in text
    assert "virtual_router_id 77" in text and "10.213.99.250/24 dev srl-absent0" in text
    assert ws.cli("diff", str(ws.folder)).exit_code == 0


def test_a_priority_change_rotates_the_config_and_keeps_the_one_a_rollback_needs(ws: Workspace) -> None:
    hostname = ws.client.api.nodes()[0]["Description"]["Hostname"]
    ws.write(*vip(ws, {hostname: 150}))
    assert ws.cli("apply", "--yes", "--no-wait", str(ws.folder)).exit_code == 0
    [old] = configs(ws)
    ws.write(*vip(ws, {hostname: 120}))
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 1 and "create: not in the swarm" in diff.stdout and "can roll back" in diff.stdout
    ws.cli("apply", "--yes", "--no-wait", str(ws.folder))
    service = ws.client.api.inspect_service(f"vip-{ws.name('floating')}")["Spec"]
    current = service["TaskTemplate"]["ContainerSpec"]["Configs"][0]["ConfigName"]
    assert current != old["Spec"]["Name"]
    # The previous spec still names the old config (Swarm's rollback would need it): kept.
    assert {c["Spec"]["Name"] for c in configs(ws)} == {old["Spec"]["Name"], current}
    ws.write(*vip(ws, {hostname: 110}))
    ws.cli("apply", "--yes", "--no-wait", str(ws.folder))
    newest = ws.client.api.inspect_service(f"vip-{ws.name('floating')}")["Spec"]["TaskTemplate"]["ContainerSpec"][
        "Configs"
    ][0]["ConfigName"]
    deadline = time.monotonic() + 30
    while old["Spec"]["Name"] in {c["Spec"]["Name"] for c in configs(ws)} and time.monotonic() < deadline:
        ws.cli("apply", "--yes", "--no-wait", str(ws.folder))  # the oldest goes once nothing names it
        time.sleep(0.5)
    assert {c["Spec"]["Name"] for c in configs(ws)} == {current, newest}
