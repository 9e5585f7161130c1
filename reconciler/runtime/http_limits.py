"""What a slow or numerous HTTP client may cost the controller: a deadline for reading a request and a
fixed number of worker threads.

``DeadlineReader`` turns a socket into a raw stream whose every read shares one deadline, so a client
that sends one header line every few seconds is cut off when the deadline passes (a per-read timeout
alone never fires: the "slowloris" attack of issue 14). ``WorkerPool`` serves accepted connections
on ``workers`` threads with at most ``max_pending`` waiting; past that, a connection is answered
503 and closed at once, so 2,000 slow clients hold neither 2,000 threads nor 2,000 sockets.
Used by ``reconciler.runtime.http_handler`` (its server and request handler).
"""

from __future__ import annotations

import contextlib
import io
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

__all__ = ["BUSY_RESPONSE", "DeadlineReader", "WorkerPool", "refuse_busy"]

log = logging.getLogger("reconciler.runtime.http_server")

BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 5\r\nRetry-After: 1\r\nConnection: close\r\n\r\nbusy\n"
)
"""What a connection gets when every worker is busy and the waiting line is full."""


class DeadlineReader(io.RawIOBase):
    """Reads from ``sock`` until ``deadline`` (``time.monotonic()`` seconds), a bound on all reads
    together; a read after it, or one still waiting when it passes, raises ``TimeoutError``. Set
    ``deadline`` anew for each phase (request line and headers, body, draining)."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        super().__init__()
        self._sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the request was not read in time")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)


Job = tuple[socket.socket, Any, float]  # the connection, its peer address, when it was accepted


class WorkerPool:
    """``workers`` threads call ``serve(connection, address, accepted_at)`` for each accepted
    connection; ``serve`` must close it. ``submit`` returns False (the caller answers 503 and
    closes) when ``max_pending`` connections already wait. ``close`` ends the threads once they are
    done with what they serve now; connections still waiting are closed without being served."""

    def __init__(
        self, serve: Callable[[socket.socket, Any, float], None], *, workers: int, max_pending: int, name: str
    ) -> None:
        if workers < 1 or max_pending < 0:
            raise ValueError(f"workers must be at least 1 and max_pending not negative ({workers}, {max_pending})")
        self._serve = serve
        self._max_pending = max_pending
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._closing = threading.Event()
        self._threads = [threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)]
        for thread in self._threads:
            thread.start()

    def submit(self, connection: socket.socket, address: Any) -> bool:
        """Queue a connection accepted just now; False when the line is full (or the pool closed)."""
        if self._closing.is_set() or self._jobs.qsize() >= self._max_pending:
            return False
        self._jobs.put((connection, address, time.monotonic()))
        return True

    def close(self) -> None:
        self._closing.set()
        for _ in self._threads:
            self._jobs.put(None)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            connection, address, accepted_at = job
            if self._closing.is_set():
                _close(connection)
                continue
            try:
                self._serve(connection, address, accepted_at)
            except Exception:  # serve handles its own errors; this keeps the worker alive regardless
                log.exception("HTTP: serving %s failed", address)
                _close(connection)


def refuse_busy(connection: socket.socket) -> None:
    """Answer 503 without waiting (the kernel's send buffer takes it), then close."""
    with contextlib.suppress(OSError):
        connection.setblocking(False)
        connection.send(BUSY_RESPONSE)
    _close(connection)


def _close(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()
