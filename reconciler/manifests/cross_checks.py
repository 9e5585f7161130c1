"""Checks that need the whole manifest set: duplicates, references, dependency cycles, route
claims, VRRP clashes and secret sizes. Pure: loaded manifests in, positioned problems out.

Called by ``reconciler.manifests.loading`` after each document passed its own model.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping, Sequence
from ipaddress import IPv4Interface, IPv6Interface

from reconciler.core.keys import ResourceKey
from reconciler.manifests.errors import ManifestProblem, dotted, shown
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.traefik import Route
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.manifests.manifest_set import LoadedManifest
from reconciler.manifests.middleware_chains import chain_cycles
from reconciler.manifests.name_checks import derived_name_clashes
from reconciler.manifests.namespaces import Resolver
from reconciler.manifests.published_ports import port_clashes
from reconciler.manifests.registry import KINDS
from reconciler.manifests.template_checks import template_problems
from reconciler.manifests.yaml_source import FieldPath

__all__ = ["check_set"]

VRRP_PASSWORD_MAX = 8  # keepalived truncates auth_pass beyond 8 characters


def check_set(
    loaded: list[LoadedManifest], contents: dict[str, bytes], broken: set[str] | None = None
) -> list[ManifestProblem]:
    """``broken``: Kind/name of documents that failed their own validation; they count as declared."""
    unique = _unique(loaded)
    problems = list(unique.problems)
    by_key = unique.by_key
    resolver = Resolver(item.resource for item in by_key.values())  # one per set, shared by the checks
    problems += _references(by_key, broken or set(), resolver)
    problems += _cycles(by_key, resolver)
    problems += _route_claims(by_key, resolver)
    for check in (
        _vrrp_clashes,
        derived_name_clashes,
        port_clashes,
        template_problems,
        chain_cycles,
    ):
        problems += check(by_key)
    problems += _vrrp_passwords(by_key, contents)
    return problems


class _Unique:
    def __init__(self) -> None:
        self.by_key: dict[str, LoadedManifest] = {}
        self.problems: list[ManifestProblem] = []


def _problem(item: LoadedManifest, path: FieldPath, message: str) -> ManifestProblem:
    return ManifestProblem(item.source.position(path), item.resource.key, dotted(path), message)


def _unique(loaded: list[LoadedManifest]) -> _Unique:
    result = _Unique()
    for item in loaded:
        first = result.by_key.get(item.resource.key)
        if first is None:
            result.by_key[item.resource.key] = item
        else:
            result.problems.append(duplicate(item, first))
    return result


def duplicate(item: LoadedManifest, first: LoadedManifest) -> ManifestProblem:
    """``item`` has the key of the ``first`` manifest loaded with it."""
    return _problem(
        item, ("metadata", "name"), f"duplicate {item.resource.key}: first defined at {first.source.position()}"
    )


def _references(by_key: dict[str, LoadedManifest], broken: set[str], resolver: Resolver) -> list[ManifestProblem]:
    problems = []
    for item in by_key.values():
        problems += reference_problems(item, resolver, broken)
    return problems


def reference_problems(item: LoadedManifest, resolver: Resolver, broken: Container[str]) -> list[ManifestProblem]:
    """Each reference must find a manifest by the namespace rule (``manifests.namespaces``), unless it
    may name an existing Swarm object or the document it would find failed its own checks."""
    problems = []
    namespace = item.resource.namespace
    for ref in item.resource.references():
        key_text = ResourceKey.of(ref.kind, ref.name, ref.namespace)
        candidates = (key_text, ResourceKey.of(ref.kind, ref.name, ref.namespace or namespace))
        if ref.kind not in KINDS:
            problems.append(
                _problem(item, ref.field_path, f"unknown kind {shown(ref.kind)}: expected one of {', '.join(KINDS)}")
            )
        elif (
            resolver.reference(ref, namespace) is None
            and not any(candidate in broken for candidate in candidates)
            and not ref.optional
        ):
            where = f" (in namespace {namespace!r} or without one)" if namespace and ref.namespace is None else ""
            problems.append(_problem(item, ref.field_path, f"{key_text} is not declared in the manifests{where}"))
    return problems


def _cycles(by_key: dict[str, LoadedManifest], resolver: Resolver) -> list[ManifestProblem]:
    edges = {key: dependencies(item, resolver) for key, item in by_key.items() if isinstance(item.resource, Service)}
    return dependency_cycles(edges, by_key)


def dependencies(item: LoadedManifest, resolver: Resolver) -> list[str]:
    """The keys of the manifests a Service's ``dependsOn`` entries find."""
    assert isinstance(item.resource, Service)
    return [
        found.key
        for dep in item.resource.spec.depends_on
        if (found := resolver.dependency(dep, item.resource.namespace)) is not None
    ]


def dependency_cycles(
    edges: Mapping[str, Sequence[str]], by_key: Mapping[str, LoadedManifest]
) -> list[ManifestProblem]:
    """A problem at each service where a depth-first walk, in key order, meets a service it is still in.

    The walk keeps its own stack: a ``dependsOn`` chain of a thousand services would go past Python's
    recursion limit (a RecursionError instead of a verdict)."""
    problems: list[ManifestProblem] = []
    state: dict[str, int] = {}  # 1 visiting (on ``trail``), 2 done
    for root in sorted(edges):
        if root in state:
            continue
        state[root] = 1
        trail = [root]  # the walk's path from ``root``; ``pending`` holds each step's deps still to see
        pending = [iter(edges.get(root, ()))]
        while pending:
            key = trail[-1]
            for dep in pending[-1]:
                if state.get(dep) == 1:
                    cycle = [*trail[trail.index(dep) :], dep]
                    problems.append(
                        _problem(by_key[key], ("spec", "dependsOn"), "dependency cycle: " + " -> ".join(cycle))
                    )
                elif dep not in state:
                    state[dep] = 1
                    trail.append(dep)
                    pending.append(iter(edges.get(dep, ())))
                    break
            else:
                state[key] = 2
                trail.pop()
                pending.pop()
    return problems


def _route_claims(by_key: dict[str, LoadedManifest], resolver: Resolver) -> list[ManifestProblem]:
    claims: dict[tuple[str, str], LoadedManifest] = {}
    networks: dict[str, LoadedManifest] = {}  # `traefik.swarm.network` is one label per service
    problems = []
    for item in _of(by_key, Route):
        route = item.resource
        assert isinstance(route, Route)
        target = resolver.find("Service", route.spec.service, route.namespace)
        if route.spec.network is not None:
            other = networks.setdefault(target.swarm_name if target else route.spec.service, item)
            other_network = other.resource.spec.network  # type: ignore[attr-defined]
            if other_network != route.spec.network:
                problems.append(network_clash(item, other))
        path = route.spec.path_prefix or "/"
        for index, host in enumerate(route.spec.hosts or ["*"]):
            first = claims.setdefault((host, path), item)
            if first is not item:
                problems.append(claim_clash(item, index, first))
        problems += route_network(by_key[target.key] if target else None, item, route, resolver)
    return problems


def network_clash(item: LoadedManifest, other: LoadedManifest) -> ManifestProblem:
    """Route ``item`` reaches its service on another network than the earlier Route ``other``."""
    route = item.resource
    assert isinstance(route, Route)
    other_network = other.resource.spec.network  # type: ignore[attr-defined]
    return _problem(
        item,
        ("spec", "network"),
        f"{other.resource.key} reaches service {route.spec.service!r} on network {other_network!r}: "
        "routes to one service must use one network",
    )


def claim_clash(item: LoadedManifest, index: int, first: LoadedManifest) -> ManifestProblem:
    """Route ``item``'s host ``index`` (its path with it) is claimed by the earlier Route ``first``."""
    route = item.resource
    assert isinstance(route, Route)
    host = route.spec.hosts[index] if route.spec.hosts else "*"
    return _problem(
        item,
        ("spec", "hosts", index) if route.spec.hosts else ("spec", "catchAll"),
        f"{host}{route.spec.path_prefix or '/'} is already claimed by {first.resource.key} ({first.source.position()})",
    )


def route_network(
    target: LoadedManifest | None, item: LoadedManifest, route: Route, resolver: Resolver
) -> list[ManifestProblem]:
    if target is None:
        return []
    assert isinstance(target.resource, Service)
    names = target.resource.spec.network_names()
    swarm_names = [_network_name(resolver, n, target.resource.namespace) for n in names]
    if route.spec.network is None and len(names) > 1:
        # Without traefik.swarm.network, Traefik picks an address on any of the service's networks,
        # and those it cannot reach fail (502).
        return [
            _problem(
                item,
                ("spec", "service"),
                f"{target.resource.key} is on {len(names)} networks ({', '.join(names)}): "
                "set `network` to the one Traefik reaches it on",
            )
        ]
    if route.spec.network is None:
        return []
    if _network_name(resolver, route.spec.network, route.namespace) in swarm_names:
        return []
    return [
        _problem(
            item,
            ("spec", "network"),
            f"{target.resource.key} is not attached to network {shown(route.spec.network)}",
        )
    ]


def _network_name(resolver: Resolver, name: str, namespace: str | None) -> str:
    found = resolver.find("Network", name, namespace)
    return found.swarm_name if found is not None else name


def _vrrp_clashes(by_key: dict[str, LoadedManifest]) -> list[ManifestProblem]:
    problems = []
    router_ids: dict[tuple[str, int], LoadedManifest] = {}
    addresses: dict[IPv4Interface | IPv6Interface, LoadedManifest] = {}
    for item in _of(by_key, VirtualIP):
        vip = item.resource
        assert isinstance(vip, VirtualIP)
        first = router_ids.setdefault((vip.spec.interface, vip.spec.router_id), item)
        if first is not item:
            problems.append(router_id_clash(item, first))
        for index, address in enumerate(vip.spec.addresses):
            owner = next((other for a, other in addresses.items() if a.ip == address.ip), None)
            if owner is not None:
                problems.append(address_clash(item, index, owner))
            addresses.setdefault(address, item)
    return problems


def router_id_clash(item: LoadedManifest, first: LoadedManifest) -> ManifestProblem:
    vip = item.resource
    assert isinstance(vip, VirtualIP)
    return _problem(
        item,
        ("spec", "routerId"),
        f"VRRP router id {vip.spec.router_id} on {vip.spec.interface} is already used by {first.resource.key}",
    )


def address_clash(item: LoadedManifest, index: int, owner: LoadedManifest) -> ManifestProblem:
    vip = item.resource
    assert isinstance(vip, VirtualIP)
    return _problem(
        item, ("spec", "addresses", index), f"{vip.spec.addresses[index].ip} is also held by {owner.resource.key}"
    )


def _vrrp_passwords(by_key: dict[str, LoadedManifest], contents: dict[str, bytes]) -> list[ManifestProblem]:
    problems = []
    for item in _of(by_key, VirtualIP):
        problems += password_problems(item, contents)
    return problems


def password_problems(item: LoadedManifest, contents: Mapping[str, bytes]) -> list[ManifestProblem]:
    """VirtualIP ``item``'s password secret, when its content is in the set, must suit keepalived."""
    vip = item.resource
    assert isinstance(vip, VirtualIP)
    if vip.spec.password is None:
        return []
    content = contents.get(ResourceKey.of("Secret", vip.spec.password.secret))
    if content is None:
        return []  # external or missing: the reference check speaks for a missing one
    if _valid_vrrp_password(content):
        return []
    return [
        _problem(
            item,
            ("spec", "password", "secret"),
            f"the VRRP password must be 1-{VRRP_PASSWORD_MAX} ASCII characters without spaces, "
            "quotes, braces, '#', '!', '\\' or '$' (one trailing newline is allowed)",
        )
    ]


def _valid_vrrp_password(content: bytes) -> bool:
    # Swarm puts the secret's raw bytes into the file, so this is a byte check: a leading newline
    # would leave auth_pass empty, and 8 non-ASCII characters are more than 8 bytes.
    password = content.removesuffix(b"\n").removesuffix(b"\r")
    allowed = set(range(0x21, 0x7F)) - set(b"\"'{}#!\\$")
    return 1 <= len(password) <= VRRP_PASSWORD_MAX and all(byte in allowed for byte in password)


def _of(by_key: dict[str, LoadedManifest], cls: type[Resource]) -> Iterable[LoadedManifest]:
    return (item for item in by_key.values() if isinstance(item.resource, cls))
