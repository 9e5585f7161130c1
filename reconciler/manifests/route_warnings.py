"""Warnings about Routes and Middlewares that Traefik takes but that do not do what they seem to.

- **A wildcard host that outranks a specific one.** Traefik orders routers by priority, which is
  the length of the rule unless set (``pkg/muxer/http/mux.go`` ``GetRulePriority``). A wildcard's
  ``HostRegexp`` rule is usually longer than a specific host's ``Host`` rule, so
  ``*.example.org`` takes ``app.example.org``'s requests away from the Route meant for it, unless
  that Route's ``priority`` is higher.
- **Deprecated middleware options** that Traefik still honours (``middleware_options``).

Called by ``warning_checks``; a rule is the one ``route_rules`` builds for the router label.
"""

from __future__ import annotations

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.kinds.traefik import Middleware, Route
from reconciler.manifests.middleware_options import deprecated_options
from reconciler.manifests.route_rules import route_rule
from reconciler.manifests.yaml_source import FieldPath

__all__ = ["deprecated_option_warnings", "wildcard_warnings"]


def _covers(wildcard: str, host: str) -> bool:
    """``*.example.org`` matches ``app.example.org`` (one label), not ``a.b.example.org``."""
    domain = wildcard[2:]
    return host.endswith("." + domain) and "." not in host[: -len(domain) - 1] and not host.startswith("*.")


def _priority(route: Route) -> int:
    return route.spec.priority or len(route_rule(route))


def wildcard_warnings(routes: list[Route]) -> list[tuple[Route, FieldPath, str]]:
    """(route, field, message) for each specific host that a wildcard Route outranks. Wildcards are
    indexed by their domain, so this is linear in the number of hosts (a set of 10,000 routes is
    checked in milliseconds), not routes x routes."""
    wildcards: dict[str, list[Route]] = {}
    for route in routes:
        for wildcard in {h[2:] for h in route.spec.hosts if h.startswith("*.")}:
            wildcards.setdefault(wildcard, []).append(route)
    found: list[tuple[Route, FieldPath, str]] = []
    if not wildcards:
        return found
    for other in routes:
        for index, host in enumerate(other.spec.hosts):
            if host.startswith("*.") or "." not in host:
                continue
            for wild in wildcards.get(host.split(".", 1)[1], []):
                if wild is other or not any(_covers(w, host) for w in wild.spec.hosts if w.startswith("*.")):
                    continue
                if (other.spec.path_prefix or "/") != (wild.spec.path_prefix or "/") and wild.spec.path_prefix:
                    continue  # the wildcard only takes its own path prefix
                wild_priority, priority = _priority(wild), _priority(other)
                if priority <= wild_priority:
                    found.append(
                        (
                            other,
                            ("spec", "hosts", index),
                            f"{wild.key}'s wildcard also matches {host} and Traefik ranks it higher (priority "
                            f"{wild_priority} against {priority}: unset priorities are the rule's length), so "
                            f"this route gets none of {host}'s requests: set `priority` above {wild_priority}",
                        )
                    )
    return found


def deprecated_option_warnings(resource: Resource) -> list[tuple[FieldPath, str]]:
    if not isinstance(resource, Middleware):
        return []
    return [
        (("spec", "options", *path), note)
        for path, note in deprecated_options(resource.spec.type, resource.spec.options)
    ]
