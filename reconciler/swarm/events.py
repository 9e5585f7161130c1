"""Docker's event stream (services, networks, configs, secrets, nodes) to wake-up calls, with
reconnects. Events only wake the controller's level-triggered loop: what changed is observed afresh,
so a lost event costs nothing but latency, and after every (re)connect a full observation is asked
for (``on_connect``), since events may have been missed meanwhile. Called by the controller.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Callable
from typing import Any

from reconciler.swarm.port import SwarmError, SwarmPort

__all__ = ["EVENT_TYPES", "EventStream"]

EVENT_TYPES = ("service", "network", "config", "secret", "node")
log = logging.getLogger(__name__)


class EventStream:
    def __init__(
        self,
        swarm: SwarmPort,
        on_event: Callable[[dict[str, Any]], None],
        on_connect: Callable[[], None],
        backoff_s: tuple[float, float] = (0.2, 5.0),
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self.swarm = swarm
        self.on_event = on_event
        self.on_connect = on_connect
        # Called when the stream ends or breaks (not on stop): the engine may be gone, which a pass finds out.
        self.on_lost = on_lost
        self.backoff_s = backoff_s
        self._stream: Any = None
        self._lock = threading.Lock()
        self.connected = threading.Event()

    def run(self, stop: threading.Event) -> None:
        """Blocking: read events until ``stop`` is set, reconnecting with backoff."""
        delay = self.backoff_s[0]
        while not stop.is_set():
            try:
                stream = self.swarm.events(EVENT_TYPES)
                with self._lock:
                    self._stream = stream
                if stop.is_set():
                    break
                self.connected.set()
                delay = self.backoff_s[0]
                self.on_connect()
                for event in stream:
                    self.on_event(event)
                if stop.is_set():  # close() on a clean stop ends the stream: nothing to reconnect
                    break
                log.info("event stream ended; reconnecting")
                if self.on_lost is not None:
                    self.on_lost()
            except (
                SwarmError,
                http.client.HTTPException,
                OSError,
                ValueError,
            ) as exc:
                if stop.is_set():
                    break
                log.warning("event stream lost: %s; reconnecting in %.1fs", exc, delay)
                if self.on_lost is not None and self.connected.is_set():  # once per loss, not per retry
                    self.on_lost()
            finally:
                self.connected.clear()
                with self._lock:
                    self._stream = None
            stop.wait(delay)
            delay = min(delay * 2, self.backoff_s[1])

    def close(self) -> None:
        """Unblock ``run`` (call after setting its stop event)."""
        with self._lock:
            stream = self._stream
        if stream is not None:
            try:
                stream.close()
            except Exception:
                log.debug("closing the event stream failed", exc_info=True)
