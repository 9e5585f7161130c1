"""VirtualIP values that keepalived would reject or misread are refused when the manifest is read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.manifests.loading import load_manifests


def vip(**spec: Any) -> VirtualIP:
    body = {"addresses": ["192.168.50.10/24"], "interface": "eth0", "routerId": 7, **spec}
    return VirtualIP.model_validate(
        {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "VirtualIP", "metadata": {"name": "v"}, "spec": body}
    )


def test_a_plain_vip_is_valid() -> None:
    assert vip().spec.default_priority == 100


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"unicastPeers": ["fe80::1%eth0 }"]}, "scope"),
        ({"addresses": ["fe80::5%x/64"]}, "scope"),
        ({"checks": [{"name": "c", "type": "tcp", "port": 1, "host": "fe80::1%eth0"}]}, "scope"),
        ({"checks": [{"name": "c", "type": "http", "port": 1, "path": "/" + "a" * 300}]}, "at most 200"),
        ({"checks": [{"name": "c", "type": "script", "command": ["/bin/true"] + ["x"] * 20}]}, "at most 16"),
        ({"addresses": ["fd00::10/64"], "password": {"secret": "p"}}, "VRRPv3"),
        ({"addresses": ["fd00::10/64"], "advertInterval": 41}, "VRRPv3"),
        ({"unicastPeers": ["192.168.50.2", "fd00::2"]}, "mixes IPv4 and IPv6"),
        ({"unicastPeers": ["fd00::2"]}, "another address family"),
        ({"addresses": ["0.0.0.0/0"]}, "unspecified"),
        ({"addresses": ["224.0.0.5/24"]}, "multicast"),
        ({"addresses": ["127.0.0.5/8"]}, "loopback"),
        ({"unicastPeers": ["0.0.0.0"]}, "unspecified"),
        ({"addresses": ["10.0.0.1/24", "10.0.0.1/16"]}, "listed twice"),
    ],
)
def test_values_keepalived_cannot_take_are_refused(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        vip(**spec)


MANIFESTS = """\
apiVersion: reconciler.swarm/v1alpha1
kind: Secret
metadata: {name: vrrp}
spec: {file: pw}
---
apiVersion: reconciler.swarm/v1alpha1
kind: VirtualIP
metadata: {name: v}
spec:
  addresses: [192.168.50.10/24]
  interface: eth0
  routerId: 7
  password: {secret: vrrp}
"""


@pytest.mark.parametrize(
    ("content", "valid"),
    [
        (b"abc12345", True),
        (b"abc12345\n", True),
        (b"abc12345\r\n", True),
        (b"abc123456", False),  # 9 bytes: keepalived would cut it
        (b"\nabcdefg", False),  # auth_pass would be empty
        ("éééé".encode(), False),  # 4 characters, 8 bytes, not ASCII
        (b"ab cd", False),
        (b"ab$cd", False),
        # b"": an empty Secret is refused at the Secret itself (tests/unit/test_validate_engine_limits.py)
    ],
)
def test_vrrp_password_bytes(tmp_path: Path, content: bytes, valid: bool) -> None:
    (tmp_path / "vip.yaml").write_text(MANIFESTS)
    (tmp_path / "pw").write_bytes(content)
    if valid:
        assert len(load_manifests(tmp_path)) == 2
        return
    with pytest.raises(ManifestError) as caught:
        load_manifests(tmp_path)
    [problem] = caught.value.problems
    assert str(problem).startswith(f"{tmp_path}/vip.yaml:13:14: VirtualIP/v: spec.password.secret: the VRRP password")
