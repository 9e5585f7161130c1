"""All manifest kinds in one place: the discriminated union and a lookup by ``kind``.

The loader validates each document with ``KINDS[kind]``; the schema writer uses ``Manifest``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.kinds.config import Config, Secret
from reconciler.manifests.kinds.network import Network
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.traefik import Middleware, Route
from reconciler.manifests.kinds.virtual_ip import VirtualIP
from reconciler.manifests.kinds.volume import Volume

__all__ = ["APPLY_ORDER", "KINDS", "Manifest"]

Manifest = Annotated[
    Network | Volume | Config | Secret | Service | Route | Middleware | VirtualIP,
    Field(discriminator="kind"),
]

# The order in which kinds are created: what others refer to comes first.
APPLY_ORDER: tuple[type[Resource], ...] = (
    Network,
    Volume,
    Config,
    Secret,
    Service,
    Middleware,
    Route,
    VirtualIP,
)
KINDS: dict[str, type[Resource]] = {cls.KIND: cls for cls in APPLY_ORDER}
