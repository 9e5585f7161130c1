"""Warnings over the whole manifest set: things that are legal but almost surely not what was meant.

Pure: validated manifests in, positioned ``ManifestWarning`` values out. None of them stops a load;
``validate`` prints them and ``validate --strict`` fails on them. Called by
``reconciler.manifests.loading``; the VirtualIP warnings come from ``vrrp_warnings``, those about
wildcard hosts and deprecated Traefik options from ``route_warnings``.
"""

from __future__ import annotations

from reconciler.manifests.errors import ManifestWarning, dotted
from reconciler.manifests.kinds.traefik import Route
from reconciler.manifests.manifest_set import LoadedManifest
from reconciler.manifests.namespaces import Resolver
from reconciler.manifests.route_warnings import deprecated_option_warnings, wildcard_warnings
from reconciler.manifests.vrrp_warnings import vrrp_warnings
from reconciler.manifests.yaml_source import FieldPath

__all__ = ["check_warnings", "warning"]


def warning(item: LoadedManifest, path: FieldPath, message: str) -> ManifestWarning:
    return ManifestWarning(item.source.position(path), item.resource.key, dotted(path), message)


def check_warnings(loaded: list[LoadedManifest]) -> list[ManifestWarning]:
    by_key: dict[str, LoadedManifest] = {item.resource.key: item for item in loaded}
    found = _routes_to_unknown_services(by_key)
    for item in loaded:
        found += [warning(item, path, message) for path, message in vrrp_warnings(item.resource)]
        found += [warning(item, path, message) for path, message in deprecated_option_warnings(item.resource)]
    routes = [item.resource for item in loaded if isinstance(item.resource, Route)]
    found += [warning(by_key[route.key], path, message) for route, path, message in wildcard_warnings(routes)]
    return found


def _routes_to_unknown_services(by_key: dict[str, LoadedManifest]) -> list[ManifestWarning]:
    """A Route may target any Swarm service (one from ``docker stack deploy``), but a typo in the
    name of a Service manifest looks just the same: say which it is taken to be."""
    found = []
    resolver = Resolver(item.resource for item in by_key.values())
    for item in by_key.values():
        route = item.resource
        if isinstance(route, Route) and resolver.find("Service", route.spec.service, route.namespace) is None:
            found.append(
                warning(
                    item,
                    ("spec", "service"),
                    f"no Service manifest is named {route.spec.service!r}: the route's labels go on an "
                    "existing Swarm service of that name (blocked while there is none), whose networks "
                    "and ports are not checked here",
                )
            )
    return found
