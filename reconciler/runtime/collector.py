"""Python's cycle collector held off while a pass runs, so that it runs between passes instead.

A pass that follows a change allocates a whole observation (every service and task of the swarm as
JSON) and a new revision's objects; the collector's thresholds then start a full collection in about
every other pass, which walks every object the process holds (~80,000 in a controller of 1,000
manifests, more in a process that holds other things too): 25-80 ms in the middle of the pass, before
its write. Held off (``paused``), the pass writes without it; when the pass ends the collector is on
again and the counts the pass left make it collect at its next allocation, between passes. Nothing is
kept longer than one pass: objects without cycles are freed by their reference counts as always, and
the pass's cyclic garbage waits for the end of the pass. Used by ``runtime.controller``.

Two controllers in one process (tests, a leader and a follower): the one that turned it off turns it
back on; a pass that found it off (the other's pass, or a caller that keeps it off) leaves it so.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused"]


@contextmanager
def paused() -> Iterator[None]:
    """No automatic cycle collection inside; on again afterwards if it was on before."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
