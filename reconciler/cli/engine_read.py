"""Connect to the engine and read the swarm on a thread, from the first line of ``diff``, ``apply``
and ``status``: the engine's answers (tens of ms; more on a swarm of many services, whose lists are
long) arrive while this process imports the models and loads the manifests, instead of after them
(issue 18). Only the standard library is imported here; the thread imports the Swarm adapter.

What the commands print and their exit codes are those of doing it in turn (``session.planned_or_exit``):
the manifests' problems first, then the engine's error; a read whose manifests turn out invalid is
dropped. The thread is a daemon: a command that ends early never waits for an engine that is slow to
answer.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reconciler.swarm.docker_api import DockerSwarm
    from reconciler.swarm.port import Snapshot

__all__ = ["EngineRead", "connect"]


def connect(docker_host: str | None) -> DockerSwarm:
    """``docker_api.connect``, imported on the reading thread (tests replace this function)."""
    from reconciler.swarm.docker_api import connect as connect_engine

    return connect_engine(docker_host)


class EngineRead:
    """``connect`` then one ``snapshot``; what either raised is raised again by ``swarm`` or
    ``snapshot``, in the command's thread, where doing it in turn raised it."""

    def __init__(self, docker_host: str | None) -> None:
        self._docker_host = docker_host
        self._swarm: DockerSwarm | None = None
        self._snapshot: Snapshot | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="engine-read", daemon=True)

    @classmethod
    def start(cls, path: str, docker_host: str | None) -> EngineRead:
        """Started only when ``path`` exists: a mistyped path is reported without asking the engine."""
        read = cls(docker_host)
        if os.path.exists(path):
            read._thread.start()
        return read

    def _run(self) -> None:
        try:
            self._swarm = connect(self._docker_host)
            self._snapshot = self._swarm.snapshot()
        except BaseException as exc:  # handed to the command's thread, which raises it
            self._error = exc

    def swarm(self) -> DockerSwarm:
        """The client, once ``connect`` answered; raises what it raised (``SwarmError``: no engine)."""
        self._wait()
        if self._swarm is None:
            raise self._failure()
        return self._swarm

    def snapshot(self) -> Snapshot:
        """The swarm as read; raises what reading raised (``SwarmError``)."""
        self._wait()
        if self._snapshot is None:
            raise self._failure()
        return self._snapshot

    def _wait(self) -> None:
        if not self._thread.is_alive() and self._thread.ident is None:
            self._thread.start()  # ``start`` found no path then; the caller checked it since
        self._thread.join()

    def _failure(self) -> BaseException:
        if self._error is None:  # pragma: no cover  (the thread sets a result or an error)
            return AssertionError("the engine-reading thread ended without a result")
        return self._error
