"""A ``Route``'s Traefik v3 rule: its hosts and path prefix as matchers.

Hosts and paths were restricted by the model to characters that need no escaping inside a
backquoted Traefik rule, so rules are built by formatting alone. The rule is part of what a Route
means to Traefik (its default priority is the rule's length), so it lives beside the model: used by
``reconciler.render.traefik`` (the router label) and ``route_warnings`` (priorities).
"""

from __future__ import annotations

from reconciler.manifests.kinds.traefik import Route

__all__ = ["host_matcher", "route_rule"]


def host_matcher(host: str) -> str:
    """``Host(`a.example.org`)``, or for ``*.example.org`` Traefik v3's ``HostRegexp`` with a Go
    regexp for one label in front of the domain (Traefik lowercases the host before matching:
    ``types.CanonicalDomain``)."""
    if not host.startswith("*."):
        return f"Host(`{host}`)"
    domain = host[2:].replace(".", "\\.")
    return f"HostRegexp(`^[a-z0-9-]+\\.{domain}$`)"


def route_rule(route: Route) -> str:
    spec = route.spec
    hosts = " || ".join(host_matcher(host) for host in spec.hosts)
    if spec.path_prefix is None:
        return hosts or "PathPrefix(`/`)"
    path = f"PathPrefix(`{spec.path_prefix}`)"
    if not hosts:
        return path
    return f"({hosts}) && {path}" if len(spec.hosts) > 1 else f"{hosts} && {path}"
