"""The swarm read on a thread while the controller loads the manifests: a pass's one observation,
started at the start of the pass instead of after the load.

A pass loads the manifest folder (CPU in this process) and then observes the swarm (mostly waiting for
the engine to list every service, task, network, config and secret); neither needs the other, so the
controller starts the observation first and takes it when the load is done. It is still the pass's
own observation, made during the pass (level-based: nothing is carried over from an earlier pass);
the writes that follow are checked by the engine against each object's version as before. An error
of the engine comes back where the observation is taken (``result``), so the pass reports it as any
failed observation.

Only a fresh observation is used (``fresh``: still being read, or read at most ``MAX_AGE_S`` before):
behind a slow load (a first revision of 1,000 manifests takes a second) the swarm may have moved on,
say a service's update status written by the swarm after the last pass's update, and a write planned
from the old version would be refused as out of sequence and retried a second later; such a pass
observes again instead. Used by ``runtime.controller``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from reconciler.core.background import Background
from reconciler.state.observed import ObservedState, observe_snapshot
from reconciler.swarm.port import SwarmPort

__all__ = ["MAX_AGE_S", "EarlyObservation"]

MAX_AGE_S = 0.1  # seconds an observation may have waited for the load and still be used


class EarlyObservation:
    """``swarm.snapshot()`` → ``ObservedState`` on a daemon thread (``core.background``), started at once."""

    def __init__(self, swarm: SwarmPort, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._background = Background(lambda: observe_snapshot(swarm.snapshot()), "observe", clock).start()

    def fresh(self, max_age_s: float = MAX_AGE_S) -> bool:
        """Still being read, or read at most ``max_age_s`` ago."""
        done_at = self._background.finished_at
        return done_at is None or self._clock() - done_at <= max_age_s

    def result(self) -> ObservedState:
        """The observation, once made; raises what observing raised (``SwarmError`` when the engine failed)."""
        return self._background.result()
