"""Connect to the engine and read the swarm on a thread, from the first line of ``diff``, ``apply``
and ``status``: the engine's answers (tens of ms; more on a swarm of many services, whose lists are
long) arrive while this process imports the models and loads the manifests, instead of after them
(issue 18). Only the standard library and ``core.background`` are imported here; the thread imports
the Swarm adapter.

What the commands print and their exit codes are those of doing it in turn (``session.planned_or_exit``):
the manifests' problems first, then the engine's error; a read whose manifests turn out invalid is
dropped. A client whose snapshot failed is closed here.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from reconciler.core.background import Background

if TYPE_CHECKING:
    from reconciler.swarm.docker_api import DockerSwarm
    from reconciler.swarm.port import Snapshot

__all__ = ["EngineRead", "connect"]


def connect(docker_host: str | None) -> DockerSwarm:
    """``docker_api.connect``, imported on the reading thread (tests replace this function)."""
    from reconciler.swarm.docker_api import connect as connect_engine

    return connect_engine(docker_host)


class EngineRead:
    """``connect`` then one ``snapshot`` (``Background``); ``result`` raises, in the command's thread,
    what either raised (``SwarmError``: no engine, a refused read)."""

    def __init__(self, docker_host: str | None) -> None:
        self._background = Background(lambda: _read(docker_host), "engine-read")

    @classmethod
    def start(cls, path: str, docker_host: str | None) -> EngineRead:
        """Started only when ``path`` exists: a mistyped path is reported without asking the engine."""
        read = cls(docker_host)
        if os.path.exists(path):
            read._background.start()
        return read

    def result(self) -> tuple[DockerSwarm, Snapshot]:
        """The client and the swarm as read (started now if ``start`` found no path then)."""
        return self._background.result()


def _read(docker_host: str | None) -> tuple[DockerSwarm, Snapshot]:
    swarm = connect(docker_host)
    try:
        return swarm, swarm.snapshot()
    except BaseException:
        swarm.close()
        raise
