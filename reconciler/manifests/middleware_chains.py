"""``chain`` middlewares followed to their members: which Middleware manifests a route needs on its
service, and chains that run into themselves.

Traefik resolves a chain's members by name when it builds a router; a member defined nowhere
disables the router ("middleware ... does not exist", every request 404), and a chain that reaches
itself is refused ("recursion detected"). So a route's service carries the labels of every
Middleware its middlewares reach (``closure``, used by ``reconciler.render.traefik``), members
that are not ``name@provider`` must be manifests (``Middleware.references``), and cycles are
refused (``chain_cycles``, called by ``cross_checks.check_set``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from reconciler.core.swarm_names import scoped
from reconciler.manifests.errors import ManifestProblem, dotted
from reconciler.manifests.kinds.traefik import Middleware
from reconciler.manifests.manifest_set import LoadedManifest

__all__ = ["chain_cycle", "chain_cycles", "closure"]


def closure(names: Iterable[str], middlewares: Mapping[str, Middleware], namespace: str | None = None) -> list[str]:
    """``names`` (written in ``namespace``) and every Middleware manifest their chains reach, each once,
    in first-use order, as Traefik names (keys of ``middlewares``: ``<namespace>_<name>`` for a
    namespace's own); ``name@provider`` and unknown names are left out (they have no manifest to render)."""
    seen: list[str] = []
    pending = [(name, namespace) for name in names]
    while pending:
        written, where = pending.pop(0)
        name = scoped(where, written) if where and scoped(where, written) in middlewares else written
        if name in seen or name not in middlewares:
            continue
        seen.append(name)
        member_of = middlewares[name]
        pending += [(m, member_of.namespace) for m in member_of.spec.chain_members()]
    return seen


def chain_cycles(by_key: dict[str, LoadedManifest]) -> list[ManifestProblem]:
    """A problem at each chain through which a chain reaches itself."""
    middlewares = {item.resource.swarm_name: item for item in by_key.values() if isinstance(item.resource, Middleware)}
    return [problem for name, item in sorted(middlewares.items()) if (problem := chain_cycle(name, item, middlewares))]


def chain_cycle(name: str, item: LoadedManifest, middlewares: Mapping[str, LoadedManifest]) -> ManifestProblem | None:
    """A problem at Middleware ``item`` (Traefik name ``name``) when a member of its chain reaches it
    again, at the first such member; ``middlewares`` is read by name only (``cross_index`` records it)."""
    assert isinstance(item.resource, Middleware)
    for index, member in enumerate(item.resource.spec.chain_members()):
        trail = _path_back(_member(member, item.resource.namespace, middlewares), name, middlewares)
        if trail is not None:
            path = ("spec", "options", "middlewares", index)
            return ManifestProblem(
                item.source.position(path),
                item.resource.key,
                dotted(path),
                "chain runs into itself: " + " -> ".join([name, *trail]) + " (Traefik refuses it: recursion detected)",
            )
    return None


def _path_back(start: str, goal: str, middlewares: Mapping[str, LoadedManifest]) -> list[str] | None:
    """The chain members from ``start`` to ``goal`` (both included), or None."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    visited: set[str] = set()
    while stack:
        name, trail = stack.pop()
        if name == goal:
            return trail
        if name in visited or name not in middlewares:
            continue
        visited.add(name)
        resource = middlewares[name].resource
        assert isinstance(resource, Middleware)
        members = [_member(m, resource.namespace, middlewares) for m in resource.spec.chain_members()]
        stack += [(member, [*trail, member]) for member in members]
    return None


def _member(written: str, namespace: str | None, middlewares: Mapping[str, object]) -> str:
    """A chain member's Traefik name: its namespace's own Middleware first (``manifests.namespaces``)."""
    return scoped(namespace, written) if namespace and scoped(namespace, written) in middlewares else written
