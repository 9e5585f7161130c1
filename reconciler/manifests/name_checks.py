"""Swarm names that two manifests would both claim: refused before anything is applied.

Each kind's manifest names are unique (``cross_checks``), and names derived from them are unique by
construction (``reconciler.core.swarm_names``: a cut name keeps its full name in the hash). What is
left is one kind's derived name landing on another kind's name in the same Swarm namespace: a
VirtualIP's keepalived service ``vip-<name>`` against a ``Service`` of that name (swarmkit refuses
the second create with "already exists", and every apply then flips the object between the two).
Called by ``cross_checks.check_set``.
"""

from __future__ import annotations

from reconciler.core.swarm_names import vip_service_name
from reconciler.manifests.errors import ManifestProblem, dotted
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.manifests.manifest_set import LoadedManifest

__all__ = ["derived_name_clash", "derived_name_clashes"]


def derived_name_clashes(by_key: dict[str, LoadedManifest]) -> list[ManifestProblem]:
    """A problem at each VirtualIP whose keepalived service would take a Service manifest's name."""
    services = {item.resource.swarm_name: item for item in by_key.values() if isinstance(item.resource, Service)}
    problems = []
    for item in by_key.values():
        if not isinstance(item.resource, VirtualIP):
            continue
        owner = services.get(vip_service_name(item.resource.name))
        if owner is not None:
            problems.append(derived_name_clash(item, owner))
    return problems


def derived_name_clash(item: LoadedManifest, owner: LoadedManifest) -> ManifestProblem:
    """VirtualIP ``item``'s keepalived service would take Service ``owner``'s Swarm name."""
    path = ("metadata", "name")
    return ManifestProblem(
        item.source.position(path),
        item.resource.key,
        dotted(path),
        f"its keepalived service is named {vip_service_name(item.resource.name)!r}, the Swarm name of "
        f"{owner.resource.key} ({owner.source.position()}): rename one of them",
    )
