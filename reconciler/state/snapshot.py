"""``Snapshot``: the live swarm as one pass reads it, as plain Engine API objects.

The Swarm adapter (``reconciler.swarm``) produces it with one list request per kind; the observed
state (``state.observed``) reduces it. It lives here, below both, so that the state layer can type it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ApiObject", "Snapshot"]

ApiObject = dict[str, Any]  # an Engine API object as JSON: ``ID``, ``Version``, ``Spec``, …


@dataclass(frozen=True)
class Snapshot:
    """The live swarm as one pass sees it: one list call per kind."""

    services: list[ApiObject] = field(default_factory=list)
    networks: list[ApiObject] = field(default_factory=list)
    configs: list[ApiObject] = field(default_factory=list)
    secrets: list[ApiObject] = field(default_factory=list)
    nodes: list[ApiObject] = field(default_factory=list)
    volumes: list[ApiObject] = field(default_factory=list)  # this node's only: volumes are node-local
    tasks: list[ApiObject] = field(default_factory=list)  # every task, for health (running, failures)
    requests: int = 0  # API calls made to build it
    taken_at: float = 0.0  # Unix seconds when it was read (health ages are measured against it)
