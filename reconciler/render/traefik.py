"""``Route`` + ``Middleware`` manifests to the Traefik v3 labels put on the target service's Spec.Labels.

Hosts, paths and names were restricted by the models to characters that need no escaping inside
a backquoted Traefik rule, so rules are built by formatting alone (``manifests.route_rules``).
A route's middlewares are followed through chains to every member. Called by the service renderer
(routes to managed services) and, for services the reconciler does not manage, by the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from reconciler.manifests.kinds.traefik import Middleware, Route, RouteTls
from reconciler.manifests.middleware_chains import closure
from reconciler.manifests.route_rules import host_matcher, route_rule

__all__ = ["ENABLE", "host_matcher", "middleware_labels", "route_labels", "route_rule", "routes_labels"]

ENABLE = "traefik.enable"


def route_labels(route: Route) -> dict[str, str]:
    """The labels of one route (router + its load-balancer service), without middleware definitions."""
    spec = route.spec
    router = f"traefik.http.routers.{route.name}"
    labels = {
        ENABLE: "true",
        f"{router}.rule": route_rule(route),
        f"{router}.service": route.name,
        f"traefik.http.services.{route.name}.loadbalancer.server.port": str(spec.port),
    }
    if spec.entry_points:
        labels[f"{router}.entrypoints"] = ",".join(spec.entry_points)
    if spec.middlewares:
        labels[f"{router}.middlewares"] = ",".join(spec.middlewares)
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
        labels["traefik.swarm.network"] = spec.network
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


def middleware_labels(middleware: Middleware) -> dict[str, str]:
    prefix = f"traefik.http.middlewares.{middleware.name}.{middleware.spec.type}"
    out: dict[str, str] = {}
    if not middleware.spec.options:
        out[prefix] = "true"  # an option-less middleware (e.g. compress) still has to be declared
    _flatten(prefix, middleware.spec.options, out)
    return out


def routes_labels(routes: Iterable[Route], middlewares: Mapping[str, Middleware]) -> dict[str, str]:
    """All labels for the routes that target one service, with the middlewares they use, followed
    through ``chain`` middlewares to every member (Traefik finds a chain's members by name)."""
    labels: dict[str, str] = {}
    for route in sorted(routes, key=lambda r: r.name):
        labels.update(route_labels(route))
        for name in closure(route.spec.middlewares, middlewares):
            labels.update(middleware_labels(middlewares[name]))
    return dict(sorted(labels.items()))
