"""Published ports two services would both take, refused before the second create fails.

swarmkit ``manager/controlapi/service.go`` ``checkPortConflicts``: a port published in ``ingress``
mode (the routing mesh takes it on every node) conflicts with the same port and protocol published
by any other service, in either mode ("port '8080' is already in use by service ... as an ingress
port"), and a ``host`` mode port conflicts with another service's ``ingress`` one; two services may
publish the same ``host`` port (the scheduler keeps them on different nodes). Within one service,
a port and protocol published twice is refused by the Service model (``validateEndpointSpec``).

Pure: loaded manifests in, positioned problems out. Called by ``cross_checks.check_set``.
"""

from __future__ import annotations

from reconciler.manifests.errors import ManifestProblem, dotted
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.manifest_set import LoadedManifest

__all__ = ["port_clash", "port_clashes"]


def port_clashes(by_key: dict[str, LoadedManifest]) -> list[ManifestProblem]:
    """A problem at each port that a service listed earlier (by Kind/name) already takes."""
    taken: dict[tuple[int, str], tuple[str, LoadedManifest]] = {}  # (port, protocol) -> (mode, owner)
    problems = []
    for key in sorted(by_key):
        item = by_key[key]
        if not isinstance(item.resource, Service):
            continue
        mine: dict[tuple[int, str], str] = {}
        for index, port in enumerate(item.resource.spec.ports):
            if port.published is None:
                continue
            slot = (port.published, port.protocol)
            mine[slot] = port.mode
            other = taken.get(slot)
            if other is not None and "ingress" in (other[0], port.mode):
                problems.append(port_clash(item, index, *other))
        for port_slot, mode in mine.items():
            if port_slot not in taken or mode == "ingress":
                taken[port_slot] = (mode, item)
    return problems


def port_clash(item: LoadedManifest, index: int, mode: str, other: LoadedManifest) -> ManifestProblem:
    """Service ``item``'s port ``index`` is taken by ``other``, which publishes it in ``mode``."""
    assert isinstance(item.resource, Service)
    port = item.resource.spec.ports[index]
    path = ("spec", "ports", index, "published")
    return ManifestProblem(
        item.source.position(path),
        item.resource.key,
        dotted(path),
        f"{port.published}/{port.protocol} is already published by {other.resource.key} "
        f"({other.source.position()}) in {mode} mode: Swarm refuses the second service "
        "(two services share a port only when both publish it in host mode)",
    )
