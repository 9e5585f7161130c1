"""A ``Controller`` running its loop on a thread for the length of a ``with`` block, for the unit tests
(in-memory swarm), the lab tests and the benchmarks alike: stopped, woken and joined on the way out, and the test fails
if the loop did not end (before, three tests each had a copy of this; two of them did not wake the loop,
so stopping waited for its next wake-up)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from reconciler.runtime.controller import Controller

__all__ = ["running"]


@contextmanager
def running(ctl: Controller, join_s: float = 10.0) -> Iterator[Controller]:
    stop = threading.Event()
    thread = threading.Thread(target=ctl.run, args=(stop,), name="controller-under-test", daemon=True)
    thread.start()
    try:
        yield ctl
    finally:
        stop.set()
        ctl.wakeup.wake("stop")
        thread.join(timeout=join_s)
        assert not thread.is_alive(), "the controller did not stop"
