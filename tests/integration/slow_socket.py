"""A slowed Engine API socket: a TCP proxy on 127.0.0.1 that holds each HTTP request for 1.5-2 s before
passing it to the lab dockerd's unix socket. For the leader-election test of a slow API (issue 14).

Each chunk the client sends that starts a request (an HTTP method and a space) waits ``delay()`` seconds
first; answers come back at once. Keep-alive connections are proxied byte for byte, so every request
on them is delayed. Only the standard library; threads end with their connections or ``close``.
"""

from __future__ import annotations

import contextlib
import random
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

_METHODS = (b"GET ", b"POST ", b"PUT ", b"DELETE ", b"HEAD ")


class SlowSocket:
    """``with SlowSocket(path) as proxy:`` then ``proxy.url`` (``tcp://127.0.0.1:<port>``) is the slowed engine."""

    def __init__(self, unix_path: str, low_s: float = 1.5, high_s: float = 2.0, seed: int = 14) -> None:
        self.unix_path = unix_path
        rng = random.Random(seed)
        lock = threading.Lock()

        def delay() -> float:
            with lock:
                return rng.uniform(low_s, high_s)

        self.delay: Callable[[], float] = delay
        self.requests = 0  # requests held so far
        self._server = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self._server.getsockname()[1]}"

    def __enter__(self) -> SlowSocket:
        threading.Thread(target=self._accept, name="slow-socket", daemon=True).start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        self._closed.set()
        self._server.close()
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.close()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                upstream.connect(self.unix_path)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, slow: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                if slow and data.startswith(_METHODS):
                    with self._lock:
                        self.requests += 1
                    time.sleep(self.delay())
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
