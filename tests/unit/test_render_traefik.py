"""Routes and middlewares become Traefik v3 labels; values are never able to change a rule's meaning."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from reconciler.manifests.kinds.traefik import Middleware, Route
from reconciler.render.traefik import middleware_labels, route_labels, route_rule, routes_labels

API = "reconciler.swarm/v1alpha1"


def route(name: str = "app", **spec: Any) -> Route:
    body = {"service": "app", "port": 8080, "hosts": ["app.test"], **spec}
    return Route.model_validate({"apiVersion": API, "kind": "Route", "metadata": {"name": name}, "spec": body})


def middleware(name: str, type_: str, options: dict[str, Any]) -> Middleware:
    return Middleware.model_validate(
        {
            "apiVersion": API,
            "kind": "Middleware",
            "metadata": {"name": name},
            "spec": {"type": type_, "options": options},
        }
    )


def test_minimal_route_has_router_service_and_port() -> None:
    assert route_labels(route()) == {
        "traefik.enable": "true",
        "traefik.http.routers.app.rule": "Host(`app.test`)",
        "traefik.http.routers.app.service": "app",
        "traefik.http.services.app.loadbalancer.server.port": "8080",
    }


def test_rules_combine_hosts_and_path() -> None:
    assert route_rule(route(hosts=["a.test", "b.test"])) == "Host(`a.test`) || Host(`b.test`)"
    assert route_rule(route(pathPrefix="/api")) == "Host(`app.test`) && PathPrefix(`/api`)"
    assert route_rule(route(hosts=["a.test", "b.test"], pathPrefix="/api")) == (
        "(Host(`a.test`) || Host(`b.test`)) && PathPrefix(`/api`)"
    )
    assert route_rule(route(hosts=[], catchAll=True)) == "PathPrefix(`/`)"
    assert route_rule(route(hosts=[], catchAll=True, pathPrefix="/x")) == "PathPrefix(`/x`)"


def test_tls_entrypoints_middlewares_priority_network() -> None:
    labels = route_labels(
        route(
            entryPoints=["web", "websecure"],
            tls={"certResolver": "letsencrypt", "options": "modern"},
            middlewares=["hsts", "auth@file"],
            priority=10,
            network="web-servers",
        )
    )
    assert labels["traefik.http.routers.app.entrypoints"] == "web,websecure"
    assert labels["traefik.http.routers.app.tls"] == "true"
    assert labels["traefik.http.routers.app.tls.certresolver"] == "letsencrypt"
    assert labels["traefik.http.routers.app.tls.options"] == "modern"
    assert labels["traefik.http.routers.app.middlewares"] == "hsts,auth@file"
    assert labels["traefik.http.routers.app.priority"] == "10"
    assert labels["traefik.swarm.network"] == "web-servers"
    assert route_labels(route(tls=True))["traefik.http.routers.app.tls"] == "true"
    assert "traefik.http.routers.app.tls" not in route_labels(route(tls=False))


def test_middleware_options_are_flattened() -> None:
    hsts = middleware(
        "hsts",
        "headers",
        {"stsSeconds": 31536000, "stsPreload": True, "customResponseHeaders": {"X-Frame-Options": "DENY"}},
    )
    assert middleware_labels(hsts) == {
        "traefik.http.middlewares.hsts.headers.stsSeconds": "31536000",
        "traefik.http.middlewares.hsts.headers.stsPreload": "true",
        "traefik.http.middlewares.hsts.headers.customResponseHeaders.X-Frame-Options": "DENY",
    }
    allow = middleware("lan", "ipAllowList", {"sourceRange": ["10.0.0.0/8", "192.168.0.0/16"]})
    assert middleware_labels(allow) == {
        "traefik.http.middlewares.lan.ipAllowList.sourceRange": "10.0.0.0/8,192.168.0.0/16"
    }
    assert middleware_labels(middleware("gz", "compress", {})) == {"traefik.http.middlewares.gz.compress": "true"}


def test_routes_labels_bring_the_used_middlewares_only() -> None:
    used = middleware("hsts", "headers", {"stsSeconds": 60})
    unused = middleware("other", "compress", {})
    labels = routes_labels([route(middlewares=["hsts"])], {"hsts": used, "other": unused})
    assert labels["traefik.http.middlewares.hsts.headers.stsSeconds"] == "60"
    assert not any(key.startswith("traefik.http.middlewares.other") for key in labels)
    assert list(labels) == sorted(labels)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("hosts", ["a.test`) || Host(`evil"]),
        ("hosts", ["a.*.example.org"]),  # a wildcard only as the first label
        ("hosts", ["UPPER.test"]),
        ("hosts", ["a.test."]),
        ("pathPrefix", "/a`) || PathPrefix(`/"),
        ("pathPrefix", "/a b"),
        ("pathPrefix", "no-slash"),
        ("pathPrefix", "/a//b"),
        ("entryPoints", ["web,websecure"]),
        ("middlewares", ["a,b"]),
        ("tls", {"certResolver": "le`"}),
        ("hosts", []),  # a catch-all needs catchAll: true
    ],
)
def test_injection_and_catch_all_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError):
        route(**{field: value})


@pytest.mark.parametrize(
    "options",
    [{"stsSeconds": "1\nx"}, {"bad key": 1}, {"list": ["a,b"]}, {"list": [{"nested": 1}]}, {"x": None}],
)
def test_unsafe_middleware_options_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        middleware("m", "headers", options)


def test_unknown_middleware_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        middleware("m", "rewriteEverything", {})
