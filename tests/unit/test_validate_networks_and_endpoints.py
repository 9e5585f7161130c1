"""Networks and endpoints the swarm would never run: IPv6 overlay pools (never allocated, seen on
Engine 28.5) and a dnsrr service publishing through the ingress (swarmkit refuses it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests


def test_an_ipv6_subnet_is_refused_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / "n.yaml").write_text(
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: six}\n"
        "spec:\n  ipam: {subnet: 'fd00:db8::/64'}\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifests(tmp_path)
    [problem] = caught.value.problems
    assert "n.yaml:5:3" in str(problem) and "IPv6" in str(problem) and "use an IPv4 subnet" in str(problem)


def test_an_ipv4_subnet_is_fine(tmp_path: Path) -> None:
    (tmp_path / "n.yaml").write_text(
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: four}\n"
        "spec:\n  ipam: {subnet: 10.240.0.0/24}\n"
    )
    assert len(load_manifests(tmp_path)) == 1


def test_a_dnsrr_service_cannot_publish_through_the_ingress(tmp_path: Path) -> None:
    (tmp_path / "s.yaml").write_text(
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Service\nmetadata: {name: dns}\n"
        "spec:\n  image: x:1\n  endpointMode: dnsrr\n  ports: [{target: 80, published: 8080}]\n"
    )
    with pytest.raises(ManifestError) as caught:
        load_manifests(tmp_path)
    assert "mode: host" in str(caught.value.problems[0])
