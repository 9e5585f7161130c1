"""The socket proxy's rules: which docker-socket-proxy setting opens which Engine API request.

Used to name the missing setting when the proxy refuses a request (``docker_api``, the in-memory
swarm's refusals, ``doctor``). Source: Tecnativa/docker-socket-proxy's haproxy.cfg (one ACL per API
section, ``POST=1`` for every method but GET and HEAD).
"""

from __future__ import annotations

import re

__all__ = ["PROXY_SETTING", "proxy_setting_for", "section_of"]

# The docker-socket-proxy environment flag that opens each API section.
PROXY_SETTING = {
    "_ping": "PING",
    "version": "VERSION",
    "info": "INFO",
    "events": "EVENTS",
    "services": "SERVICES",
    "tasks": "TASKS",
    "nodes": "NODES",
    "networks": "NETWORKS",
    "configs": "CONFIGS",
    "secrets": "SECRETS",
    "volumes": "VOLUMES",
}
_SECTION = re.compile(r"^(?:/v[\d.]+)?/([A-Za-z_]+)")


def proxy_setting_for(method: str, path: str) -> str:
    """The socket-proxy settings a request needs, e.g. ``SERVICES=1 and POST=1``."""
    section = section_of(path)
    setting = PROXY_SETTING.get(section, section.upper())
    return f"{setting}=1" if method in ("GET", "HEAD") else f"{setting}=1 and POST=1"


def section_of(path: str) -> str:
    """``/v1.41/services/abc/update`` → ``services``."""
    match = _SECTION.match(path)
    return match.group(1) if match else path
