"""A ``ManifestSet`` to the desired state: every Swarm object the manifests call for, with the spec
to send, its essence and the essence's hash (written into the ``applied-hash`` label).

Networks, configs, secrets and services are objects of their own. Volumes live in the mounts of
the services that use them, and routes and middlewares in the labels of their target services, so
they reach Swarm through the services' specs. Called by ``reconcile_once`` and ``diff``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

from reconciler import LABEL_PREFIX
from reconciler.core.keys import ResourceKey
from reconciler.core.labels import APPLIED_HASH, DEFAULT_INSTANCE
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.kinds.config import Config, Secret
from reconciler.manifests.kinds.network import Network
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.manifests.kinds.volume import Volume
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.manifests.namespaces import Resolver
from reconciler.render.objects import config_name, config_spec, content_source, network_spec, volume_name
from reconciler.render.service_spec import service_spec
from reconciler.render.traefik import routes_labels
from reconciler.render.vip_delivery import vip_config_key, vip_config_spec, vip_service_spec
from reconciler.state.compile_cache import CompileCache
from reconciler.state.essence import config_essence, essence_hash, network_essence, service_essence

__all__ = ["ADOPT_ANNOTATION", "ContentNaming", "DesiredObject", "DesiredState", "compile_desired", "config_names"]

ADOPT_ANNOTATION = f"{LABEL_PREFIX}adopt"
SWARM_KINDS = ("network", "config", "secret", "service")


@dataclass(frozen=True)
class ContentNaming:
    """How a config's or secret's Swarm name is chosen once the swarm is seen (``state.content_names``):
    ``base`` (``<ns>_<name>``) plus a hash of ``source`` (``render.objects.content_source``);
    ``stack_name`` is the name ``docker stack deploy`` gives it (in a namespace), which a live object
    keeps while it holds the same content."""

    base: str
    source: dict[str, Any] = field(repr=False)
    stack_name: str | None = None


@dataclass(frozen=True)
class DesiredObject:
    key: ResourceKey  # the manifest's Kind/name
    swarm_kind: str  # network, config, secret or service
    swarm_name: str
    spec: dict[str, Any] = field(repr=False)
    essence: dict[str, Any] = field(repr=False)
    hash: str = ""
    depends_on: tuple[ResourceKey, ...] = ()  # manifest keys that must converge first
    adopt: bool = False
    with_ipam: bool = False  # networks: the manifest pins the subnet
    naming: ContentNaming | None = None  # configs and secrets: names resolved after observing
    kept: str = ""  # why a live config/secret keeps its name (``content_names.Kept``), "" when not


@dataclass(frozen=True)
class DesiredState:
    instance: str
    objects: tuple[DesiredObject, ...] = ()
    # Config/Secret/Network manifests marked external: key to the Swarm name that must exist.
    external: dict[ResourceKey, str] = field(default_factory=dict)
    manifest_count: int = 0
    # Manifests that reach no Swarm object in this version, said in words for the views.
    notes: tuple[str, ...] = ()
    # Volume manifests that services mount: key to the (option-hashed) Docker volume name, and whether
    # an existing volume of that name may be used as it is (the adopt annotation).
    volumes: dict[ResourceKey, tuple[str, bool]] = field(default_factory=dict)
    # Routes to services that are not Service manifests: service name to (route keys, the labels they own).
    route_labels: dict[str, tuple[tuple[str, ...], dict[str, str]]] = field(default_factory=dict)
    # VirtualIPs become objects only once node IDs are known: ``resolve_nodes`` adds them.
    vips: tuple[VirtualIP, ...] = ()
    nodes_resolved: bool = False  # ``resolve_nodes`` ran: the VirtualIPs' objects are in ``objects``
    # VirtualIP key → the key of its password Secret, resolved by ``manifests.namespaces``.
    vip_secrets: dict[ResourceKey, ResourceKey] = field(default_factory=dict)
    names_resolved: bool = False  # ``content_names.resolve_names`` ran: secret names are keyed

    def get(self, key: ResourceKey) -> DesiredObject | None:
        return next((o for o in self.objects if o.key == key), None)

    def resolve_nodes(self, node_ids: Mapping[str, str]) -> DesiredState:
        """The state with every VirtualIP's config and service for these nodes (hostname → node ID).
        The step between observing and planning: the planner refuses an unresolved state that has
        VirtualIPs. Raises ``ValueError`` (from the keepalived renderer) for inconsistent priorities."""
        extra = tuple(_vip_objects(self, node_ids))
        return replace(self, objects=(*self.objects, *extra), nodes_resolved=True)


def _finish(
    resource: Resource, swarm_kind: str, spec: dict[str, Any], essence: dict[str, Any], **extra: Any
) -> DesiredObject:
    digest = essence_hash(essence)
    labels_at = spec.setdefault("Labels", {})
    labels_at[APPLIED_HASH] = digest
    adopt = resource.metadata.annotations.get(ADOPT_ANNOTATION, "").lower() == "true"
    return DesiredObject(resource.key, swarm_kind, spec["Name"], spec, essence, digest, adopt=adopt, **extra)


def compile_desired(
    manifests: ManifestSet, instance: str = DEFAULT_INSTANCE, cache: CompileCache[DesiredObject] | None = None
) -> DesiredState:
    """``cache``: a manifest whose compile would read the same things as in the last revision keeps its
    object (``state.compile_cache``); the result is the same as without it."""
    if cache is None:
        return _compile(manifests, instance, lambda _what, _resource, compile: compile(manifests))
    with cache.revision():
        return _compile(
            manifests,
            instance,
            lambda what, resource, compile: cache.compiled(what, resource, manifests, instance, compile),
        )


# (what, the manifest, its compile from a view of the set) → its object, compiled or cached.
_Compiled = Callable[[str, Resource, Callable[[ManifestSet], DesiredObject]], DesiredObject]


def _compile(manifests: ManifestSet, instance: str, compiled: _Compiled) -> DesiredState:
    objects: list[DesiredObject] = []
    external: dict[ResourceKey, str] = {}
    for network in manifests.of_kind(Network):
        if network.spec.external:
            external[network.key] = network.name
            continue
        objects.append(compiled("network", network, partial(_network_object, network, instance=instance)))
    items: list[Config | Secret] = [*manifests.of_kind(Config), *manifests.of_kind(Secret)]
    for item in items:
        if item.spec.external:
            external[item.key] = item.name
            continue
        objects.append(compiled("content", item, partial(_content_object, item, instance=instance)))
    for service in _by_dependencies(manifests.of_kind(Service), manifests.resolver):
        objects.append(compiled("service", service, partial(_service_object, service, instance=instance)))
    notes: list[str] = []
    mounted = {
        found.key
        for s in manifests.of_kind(Service)
        for m in s.spec.mounts
        if m.volume is not None and (found := manifests.resolve("Volume", m.volume, s.namespace)) is not None
    }
    volumes = {
        v.key: (volume_name(v), v.metadata.annotations.get(ADOPT_ANNOTATION, "").lower() == "true")
        for v in manifests.of_kind(Volume)
        if v.key in mounted and not v.spec.external  # an external one is meant to exist already
    }
    notes += [
        f"{v.key}: mounted by no service, so nothing is created"
        for v in manifests.of_kind(Volume)
        if v.key not in mounted
    ]
    return DesiredState(
        instance,
        tuple(objects),
        external,
        manifest_count=len(manifests),
        notes=tuple(notes),
        volumes=volumes,
        route_labels=_unmanaged_route_labels(manifests),
        vips=tuple(manifests.of_kind(VirtualIP)),
        vip_secrets={
            vip.key: found.key
            for vip in manifests.of_kind(VirtualIP)
            if vip.spec.password is not None
            and (found := manifests.resolve("Secret", vip.spec.password.secret, None)) is not None
        },
    )


def _network_object(network: Network, _manifests: ManifestSet, instance: str) -> DesiredObject:
    spec = network_spec(network, instance)
    with_ipam = network.spec.ipam is not None
    return _finish(network, "network", spec, network_essence(spec, with_ipam), with_ipam=with_ipam)


def _content_object(item: Config | Secret, manifests: ManifestSet, instance: str) -> DesiredObject:
    content = manifests.contents[item.key]
    spec = config_spec(item, content, instance)
    naming = ContentNaming(item.swarm_name, content_source(item, content), item.swarm_name if item.namespace else None)
    return _finish(item, item.KIND.lower(), spec, config_essence(spec), naming=naming)


def _service_object(service: Service, manifests: ManifestSet, instance: str) -> DesiredObject:
    spec = service_spec(service, manifests, instance)
    needs = _needs(service, manifests)
    return _finish(service, "service", spec, service_essence(spec, {}), depends_on=tuple(dict.fromkeys(needs)))


def _vip_objects(desired: DesiredState, node_ids: Mapping[str, str]) -> list[DesiredObject]:
    """The config and the global service of every VirtualIP, for the swarm's current nodes."""
    objects: list[DesiredObject] = []
    for vip in desired.vips:
        config = vip_config_spec(vip, node_ids, desired.instance)
        needs = [ResourceKey(vip_config_key(vip))]
        secret_name = None
        if vip.spec.password is not None:
            secret_key = desired.vip_secrets.get(vip.key) or ResourceKey.of("Secret", vip.spec.password.secret)
            found = desired.get(secret_key)
            secret_name = found.swarm_name if found else desired.external.get(secret_key)
            needs.append(secret_key)
        service = vip_service_spec(vip, config["Name"], secret_name, desired.instance)
        for key, kind, spec, essence in (
            (ResourceKey(vip_config_key(vip)), "config", config, config_essence(config)),
            (vip.key, "service", service, service_essence(service, {})),
        ):
            digest = essence_hash(essence)
            spec["Labels"][APPLIED_HASH] = digest
            objects.append(DesiredObject(key, kind, spec["Name"], spec, essence, digest,
                                         depends_on=tuple(needs) if kind == "service" else ()))  # fmt: skip
    return objects


def _needs(service: Service, manifests: ManifestSet) -> list[ResourceKey]:
    """The manifest keys a service waits for: its dependencies and the objects it uses, each
    resolved from the service's namespace (``manifests.namespaces``)."""
    resolver = manifests.resolver
    needs = [
        found.key if (found := resolver.dependency(dep, service.namespace)) else ResourceKey.parse(dep)
        for dep in service.spec.depends_on
    ]
    written = [("Network", n) for n in service.spec.network_names()]
    written += [("Volume", m.volume) for m in service.spec.mounts if m.volume is not None]
    written += [("Config", c.name) for c in service.spec.configs]
    written += [("Secret", s.name) for s in service.spec.secrets]
    for kind, name in written:
        found = resolver.find(kind, name, service.namespace)
        needs.append(found.key if found is not None else ResourceKey.of(kind, name))
    return needs


def _unmanaged_route_labels(manifests: ManifestSet) -> dict[str, tuple[tuple[str, ...], dict[str, str]]]:
    """Swarm name of a service no Service manifest makes → (its routes' keys, their labels)."""
    managed = {s.swarm_name for s in manifests.of_kind(Service)}
    middlewares = manifests.middlewares_by_name
    targets = {name: routes for name, routes in manifests.routes_by_service.items() if name not in managed}
    return {
        service: (tuple(sorted(r.key for r in routes)), routes_labels(routes, middlewares, manifests.network_name))
        for service, routes in sorted(targets.items())
    }


def _by_dependencies(services: list[Service], resolver: Resolver) -> list[Service]:
    """Services ordered so that each comes after the services it depends on (the loader refused cycles)."""
    by_key = {s.key: s for s in services}
    ordered: list[Service] = []
    seen: set[ResourceKey] = set()

    def visit(service: Service) -> None:
        if service.key in seen:
            return
        seen.add(service.key)
        for dep in service.spec.depends_on:
            found = resolver.dependency(dep, service.namespace)
            if found is not None and found.key in by_key:
                visit(by_key[found.key])
        ordered.append(service)

    for service in sorted(services, key=lambda s: (s.name, s.namespace or "")):
        visit(service)
    return ordered


def config_names(manifests: ManifestSet) -> dict[str, str]:
    """Config/Secret manifest key to its current Swarm name."""
    items: list[Config | Secret] = [*manifests.of_kind(Config), *manifests.of_kind(Secret)]
    return {item.key: config_name(item, manifests.contents.get(item.key)) for item in items}
