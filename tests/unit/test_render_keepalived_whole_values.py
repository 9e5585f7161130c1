"""The keepalived renderer checks the values it did not get from a manifest (node IDs from the engine,
the password, the secret's target, the check program) whole: a final newline, which ``re.match`` with
``$`` let through (issue 14), is refused before it can start a new line in ``keepalived.conf``.
"""

from __future__ import annotations

import pytest

from reconciler import API_VERSION
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.render.keepalived import keepalived_conf, keepalived_template


def vip(**spec: object) -> VirtualIP:
    body = {"addresses": ["192.168.1.250/24"], "interface": "eth0", "routerId": 51, **spec}
    return VirtualIP.model_validate(
        {"apiVersion": API_VERSION, "kind": "VirtualIP", "metadata": {"name": "v"}, "spec": body}
    )


@pytest.mark.parametrize("tail", ["\n", "\x00", "\r"])
def test_a_node_id_from_the_engine_with_a_control_character_is_refused(tail: str) -> None:
    with pytest.raises(ValueError, match="not a Swarm node ID"):
        keepalived_template(vip(priorities={"node1": 150}), {"node1": "abc123" + tail})
    with pytest.raises(ValueError, match="not a Swarm node ID"):
        keepalived_conf(vip(), "abc123" + tail, {})


def test_a_password_with_a_final_newline_is_refused() -> None:
    spec = vip(password={"secret": "pw"})
    assert "auth_pass pass" in keepalived_conf(spec, None, {}, "pass")
    with pytest.raises(ValueError, match="VRRP password"):
        keepalived_conf(spec, None, {}, "pass\n")


def test_a_secret_target_or_program_with_a_final_newline_is_refused() -> None:
    spec = vip(password={"secret": "pw"})
    with pytest.raises(ValueError, match="secret target"):
        keepalived_template(spec, {}, password_target="pw\n")
    with pytest.raises(ValueError, match="absolute program path"):
        keepalived_template(vip(), {}, check_program="/usr/local/bin/vip-check\n")
