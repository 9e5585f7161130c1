"""The cross checks cut into what one manifest contributes, for ``incremental_checks``.

Each check of ``cross_checks.check_set`` is one of three shapes here, each giving the same problems as
the whole-set loop (``tests/unit/test_incremental_cross.py`` compares them over random edits):

- **a manifest's own verdict** (``verdict``): its references, the network its Route reaches its
  service on, its VirtualIP's derived name and password, its templates, its middleware chain. It
  reads other manifests only through ``cross_index.Reads``, which writes down each bucket asked;
- **a claim** (``claims``): what the manifest takes that no other may (a route host and path, a
  route's network for its service, a VRRP router id, a floating address, a published port), put in a
  bucket with the order in which the whole-set loop meets it; ``bucket_problems`` then judges one
  bucket, first come first served as ``cross_checks`` does;
- **the dependency graph** (``edges`` per Service, ``CycleGuard``): a cycle may run through any
  number of manifests, so the walk of ``cross_checks.dependency_cycles`` runs over the whole graph,
  but only while the graph has a cycle or an added edge closes one.

The messages come from ``cross_checks`` and the check modules themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.core.swarm_names import vip_service_name
from reconciler.manifests.cross_checks import (
    address_clash,
    claim_clash,
    dependencies,
    dependency_cycles,
    network_clash,
    password_problems,
    reference_problems,
    route_network,
    router_id_clash,
)
from reconciler.manifests.cross_index import Broken, Bucket, Claim, Contents, Middlewares, Reads
from reconciler.manifests.errors import ManifestProblem
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.traefik import Middleware, Route
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.manifests.manifest_set import LoadedManifest
from reconciler.manifests.middleware_chains import chain_cycle
from reconciler.manifests.name_checks import derived_name_clash
from reconciler.manifests.published_ports import port_clash
from reconciler.manifests.template_checks import item_template_problems

__all__ = ["CycleGuard", "bucket_problems", "claims", "edges", "verdict"]


def claims(item: LoadedManifest, order: tuple[str, int], reads: Reads) -> list[tuple[Bucket, Claim]]:
    """What ``item`` (loaded at ``order``) claims, each with the bucket it goes in."""
    resource = item.resource
    found: list[tuple[Bucket, Claim]] = []
    if isinstance(resource, Route):
        path = resource.spec.path_prefix or "/"
        for index, host in enumerate(resource.spec.hosts or ["*"]):
            found.append((("host", host, path), Claim((order, index), item, index)))
        if resource.spec.network is not None:
            target = reads.resolver.find("Service", resource.spec.service, resource.namespace)
            reached = target.swarm_name if target else resource.spec.service
            found.append((("route-network", reached), Claim(order, item, resource.spec.network)))
    elif isinstance(resource, VirtualIP):
        found.append((("router-id", resource.spec.interface, resource.spec.router_id), Claim(order, item, None)))
        for index, address in enumerate(resource.spec.addresses):
            found.append((("address", address.ip), Claim((order, index), item, index)))
    elif isinstance(resource, Service):
        for index, port in enumerate(resource.spec.ports):
            if port.published is not None:
                slot = ("port", port.published, port.protocol)
                found.append((slot, Claim((resource.key, index), item, (index, port.mode))))
    return found


def edges(item: LoadedManifest, reads: Reads) -> tuple[str, ...] | None:
    """A Service's ``dependsOn`` targets (keys), or None for any other kind."""
    return tuple(dependencies(item, reads.resolver)) if isinstance(item.resource, Service) else None


def verdict(item: LoadedManifest, reads: Reads) -> list[ManifestProblem]:
    """The problems of ``item`` that no claim or cycle makes: its own view of the set."""
    resource = item.resource
    problems = reference_problems(item, reads.resolver, Broken(reads))
    if isinstance(resource, Route):
        target = reads.resolver.find("Service", resource.spec.service, resource.namespace)
        problems += route_network(reads.named(target.key) if target else None, item, resource, reads.resolver)
    elif isinstance(resource, VirtualIP):
        owner = reads.swarm("Service", vip_service_name(resource.name), last=True)
        if owner is not None:
            problems.append(derived_name_clash(item, owner))
        problems += password_problems(item, Contents(reads))
    elif isinstance(resource, Middleware) and reads.swarm("Middleware", resource.swarm_name, last=True) is item:
        cycle = chain_cycle(resource.swarm_name, item, Middlewares(reads))
        if cycle is not None:
            problems.append(cycle)
    return problems + item_template_problems(item)


def bucket_problems(bucket: Bucket, entries: Sequence[Claim]) -> list[ManifestProblem]:
    """The problems of one claim bucket: whoever comes first holds it, as in ``cross_checks``."""
    first = entries[0]
    kind = bucket[0]
    if kind == "port":
        return _port_problems(entries)
    found = []
    for entry in entries:
        if entry.item is first.item and kind != "address":
            continue  # a route claims its own host twice, or reaches its service on its own network
        if kind == "host":
            found.append(claim_clash(entry.item, entry.payload, first.item))
        elif kind == "route-network" and entry.payload != first.payload:
            found.append(network_clash(entry.item, first.item))
        elif kind == "router-id":
            found.append(router_id_clash(entry.item, first.item))
        elif kind == "address" and entry is not first:
            found.append(address_clash(entry.item, entry.payload, first.item))
    return found


def _port_problems(entries: Sequence[Claim]) -> list[ManifestProblem]:
    """``published_ports.port_clashes`` over one (port, protocol): services in key order; an ingress
    port takes the slot from whoever had it, a host one only a free slot."""
    found = []
    taken: tuple[str, LoadedManifest] | None = None
    mine: str | None = None
    for position, entry in enumerate(entries):
        index, mode = entry.payload
        if taken is not None and "ingress" in (taken[0], mode):
            found.append(port_clash(entry.item, index, *taken))
        mine = mode  # the service's last port of this slot, as its ``mine`` table keeps it
        last_of_service = position + 1 == len(entries) or entries[position + 1].item is not entry.item
        if last_of_service and (taken is None or mine == "ingress"):
            taken = (mine, entry.item)
    return found


class CycleGuard:
    """Whether the dependency graph may hold a cycle: the whole walk is needed only then."""

    def __init__(self) -> None:
        self.cyclic = False

    def problems(
        self,
        graph: Mapping[str, Sequence[str]],
        added: Sequence[tuple[str, str]],
        by_key: Mapping[str, LoadedManifest],
    ) -> list[ManifestProblem] | None:
        """The cycle problems of ``graph`` now, or None when they are still none: the graph had no cycle
        and no edge ``added`` since closes one (a new cycle runs through a new edge)."""
        if not self.cyclic and not any(_reaches(graph, target, source) for source, target in added):
            return None
        found = dependency_cycles(graph, by_key)
        self.cyclic = bool(found)
        return found


def _reaches(graph: Mapping[str, Sequence[str]], start: str, goal: str) -> bool:
    stack, seen = [start], {start}
    while stack:
        key = stack.pop()
        if key == goal:
            return True
        for target in graph.get(key, ()):
            if target not in seen:
                seen.add(target)
                stack.append(target)
    return False
