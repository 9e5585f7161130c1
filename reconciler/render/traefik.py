"""``Route`` + ``Middleware`` manifests to the Traefik v3 labels put on the target service's Spec.Labels.

Hosts, paths and names were restricted by the models to characters that need no escaping inside
a backquoted Traefik rule, so rules are built by formatting alone (``manifests.route_rules``).
A route's middlewares are followed through chains to every member. Called by the service renderer
(routes to managed services) and, for services the reconciler does not manage, by the engine.

In a stack namespace, routers, their load-balancer services and middlewares are named
``<namespace>_<name>`` (``Resource.swarm_name``): a manifest name has no ``_``, so two namespaces'
``web`` routes (``wp_web``, ``blog_web``) and an un-namespaced ``web`` never share a Traefik name. A
middleware written in a namespaced Route or chain is its namespace's one when that exists, else the
un-namespaced one (``traefik_middleware``), the rule of ``manifests.namespaces``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from reconciler.core.swarm_names import scoped
from reconciler.manifests.kinds.traefik import Middleware, Route, RouteTls
from reconciler.manifests.middleware_chains import closure
from reconciler.manifests.route_rules import host_matcher, route_rule

__all__ = [
    "ENABLE",
    "host_matcher",
    "middleware_labels",
    "route_labels",
    "route_rule",
    "routes_labels",
    "traefik_middleware",
]

ENABLE = "traefik.enable"


def traefik_middleware(ref: str, namespace: str | None, middlewares: Mapping[str, Middleware]) -> str:
    """The Traefik name of middleware ``ref`` written in ``namespace``: ``name@provider`` as written,
    the namespace's own Middleware (``<namespace>_<ref>``) when there is one, else ``ref``."""
    if "@" not in ref and namespace and scoped(namespace, ref) in middlewares:
        return scoped(namespace, ref)
    return ref


def route_labels(
    route: Route, middlewares: Mapping[str, Middleware] | None = None, network: str | None = None
) -> dict[str, str]:
    """The labels of one route (router + its load-balancer service), without middleware definitions.
    ``network``: the Swarm name of ``spec.network`` (``<namespace>_<name>`` for a namespace's own)."""
    spec = route.spec
    name = route.swarm_name
    router = f"traefik.http.routers.{name}"
    labels = {
        ENABLE: "true",
        f"{router}.rule": route_rule(route),
        f"{router}.service": name,
        f"traefik.http.services.{name}.loadbalancer.server.port": str(spec.port),
    }
    if spec.entry_points:
        labels[f"{router}.entrypoints"] = ",".join(spec.entry_points)
    if spec.middlewares:
        labels[f"{router}.middlewares"] = ",".join(
            traefik_middleware(m, route.namespace, middlewares or {}) for m in spec.middlewares
        )
    if spec.priority is not None:
        labels[f"{router}.priority"] = str(spec.priority)
    if spec.tls:
        labels[f"{router}.tls"] = "true"
        if isinstance(spec.tls, RouteTls):
            if spec.tls.cert_resolver:
                labels[f"{router}.tls.certresolver"] = spec.tls.cert_resolver
            if spec.tls.options:
                labels[f"{router}.tls.options"] = spec.tls.options
    if spec.network is not None:
        labels["traefik.swarm.network"] = network or spec.network
    return labels


def _flatten(prefix: str, value: Any, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key in sorted(value):
            _flatten(f"{prefix}.{key}", value[key], out)
    elif isinstance(value, list):
        out[prefix] = ",".join(_scalar(item) for item in value)
    else:
        out[prefix] = _scalar(value)


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def middleware_labels(middleware: Middleware, middlewares: Mapping[str, Middleware] | None = None) -> dict[str, str]:
    prefix = f"traefik.http.middlewares.{middleware.swarm_name}.{middleware.spec.type}"
    out: dict[str, str] = {}
    options = dict(middleware.spec.options)
    if not options:
        out[prefix] = "true"  # an option-less middleware (e.g. compress) still has to be declared
    if middleware.spec.type == "chain" and middleware.namespace:
        options["middlewares"] = [
            traefik_middleware(m, middleware.namespace, middlewares or {}) for m in middleware.spec.chain_members()
        ]
    _flatten(prefix, options, out)
    return out


def routes_labels(
    routes: Iterable[Route],
    middlewares: Mapping[str, Middleware],
    network_name: Callable[[str, str | None], str] | None = None,
) -> dict[str, str]:
    """All labels for the routes that target one service, with the middlewares they use, followed
    through ``chain`` middlewares to every member (Traefik finds a chain's members by name).
    ``network_name``: (network as written, the route's namespace) → its Swarm name."""
    labels: dict[str, str] = {}
    for route in sorted(routes, key=lambda r: r.swarm_name):
        network = route.spec.network
        resolved = network_name(network, route.namespace) if network and network_name else None
        labels.update(route_labels(route, middlewares, resolved))
        for name in closure(route.spec.middlewares, middlewares, route.namespace):
            labels.update(middleware_labels(middlewares[name], middlewares))
    return dict(sorted(labels.items()))
