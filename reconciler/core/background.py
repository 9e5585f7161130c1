"""A call made on a daemon thread from the moment it is started, its answer taken later on the
caller's thread: how ``diff``, ``apply`` and ``status`` read the swarm while they import and load the
manifests (``cli.engine_read``), and how a controller pass reads it while the new revision loads
(``runtime.early_observation``). What the call raised is raised again by ``result``, on the caller's
thread, where doing it in turn raised it; the thread is a daemon, so a process that ends early never
waits for an engine that is slow to answer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar, cast

__all__ = ["Background"]

T = TypeVar("T")


class Background(Generic[T]):
    """``call()`` on a thread named ``name``; ``result()`` waits for it. ``finished_at``: the
    ``clock`` reading when the call returned or raised (None while it runs or before ``start``)."""

    def __init__(self, call: Callable[[], T], name: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._call = call
        self._clock = clock
        self._value: T | None = None
        self._error: BaseException | None = None
        self.finished_at: float | None = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Background[T]:
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            self._value = self._call()
        except BaseException as exc:  # handed to the caller's thread by ``result``
            self._error = exc
        self.finished_at = self._clock()

    def result(self) -> T:
        """The call's answer; raises what it raised. Starts the call first if nobody did."""
        if self._thread.ident is None:
            self._thread.start()
        self._thread.join()
        if self._error is not None:
            raise self._error
        return cast(T, self._value)  # the call returned: its answer is set
