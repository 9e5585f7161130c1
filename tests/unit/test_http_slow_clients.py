"""The controller's HTTP endpoint against slow and numerous clients, with real sockets on 127.0.0.1:
a client that sends one header line every so often is cut off when the request deadline passes
(counted from the accept, for the request line and headers together), and 200 such clients hold a
fixed number of worker threads, not 200; past the waiting line, a connection gets 503 at once.

Issue 14: one header line every few seconds kept a connection (and its thread) for ever, since the
timeout applied to each read; 2,000 such connections held 2,000 server threads.
"""

from __future__ import annotations

import select
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator

import pytest

from reconciler.runtime.http_server import ControllerHTTP
from reconciler.runtime.metrics import Metrics

TIMEOUT = 1.0  # the request deadline these tests give the server, in seconds
WORKERS = 4


@pytest.fixture
def server() -> Iterator[ControllerHTTP]:
    http = ControllerHTTP(
        "127.0.0.1:0",
        Metrics(),
        status=dict,
        ready=lambda: True,
        healthy=lambda: True,
        request_timeout=TIMEOUT,
        workers=WORKERS,
        max_pending=16,
    )
    http.start()
    try:
        yield http
    finally:
        http.stop()


def slow_client(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finish
    return sock


def closed_by_server(sock: socket.socket, within: float, trickle: float = 0.25) -> float | None:
    """Keep sending a header line every ``trickle`` seconds; seconds until the server closed, or None."""
    began = time.monotonic()
    sock.settimeout(trickle)
    count = 0
    while time.monotonic() - began < within:
        try:
            if sock.recv(4096) == b"":
                return time.monotonic() - began
        except TimeoutError:
            pass
        except OSError:  # reset: closed with our unread header lines in its buffer
            return time.monotonic() - began
        try:
            sock.sendall(f"X-Slow-{count}: 1\r\n".encode())
        except OSError:
            return time.monotonic() - began
        count += 1
    return None


def all_closed_by_server(socks: list[socket.socket], within: float, trickle: float = 0.25) -> float | None:
    """``closed_by_server`` for many sockets at once: seconds until the server closed them all, or None."""
    began = time.monotonic()
    open_ = set(socks)
    count = 0
    while open_ and time.monotonic() - began < within:
        for sock in list(open_):
            try:
                sock.sendall(f"X-Slow-{count}: 1\r\n".encode())
            except OSError:
                open_.discard(sock)
        count += 1
        readable, _, _ = select.select(list(open_), [], [], trickle)
        for sock in readable:
            try:
                data = sock.recv(4096)  # a 503, then the end; or the end at once
            except OSError:
                data = b""
            if not data:
                open_.discard(sock)
    return None if open_ else time.monotonic() - began


def healthz(port: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
        return int(answer.status)


def test_a_client_sending_a_header_line_every_so_often_is_cut_off(server: ControllerHTTP) -> None:
    with slow_client(server.port) as sock:
        after = closed_by_server(sock, within=4 * TIMEOUT)
    assert after is not None, "the slow client was never cut off"
    assert after < TIMEOUT + 1.0


def test_a_client_that_sends_nothing_is_cut_off(server: ControllerHTTP) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=4 * TIMEOUT) as sock:
        began = time.monotonic()
        assert sock.recv(4096) == b""
        assert time.monotonic() - began < TIMEOUT + 1.0


def test_two_hundred_slow_clients_hold_a_fixed_number_of_threads(server: ControllerHTTP) -> None:
    before = threading.active_count()
    clients = [slow_client(server.port) for _ in range(200)]
    try:
        time.sleep(0.3)  # every connection accepted and handed over (or refused)
        assert threading.active_count() <= before + 1, "a thread per connection"
        # Each is cut off within the deadline (the waiting ones too: it counts from the accept) or
        # was answered 503 at once, while all of them keep trickling header lines.
        after = all_closed_by_server(clients, within=TIMEOUT + 2.0)
        assert after is not None, "some slow clients were never cut off"
        assert threading.active_count() <= before + 1
    finally:
        for sock in clients:
            sock.close()
    assert healthz(server.port) == 200


def test_past_the_waiting_line_a_connection_gets_503_at_once() -> None:
    http = ControllerHTTP(
        "127.0.0.1:0", Metrics(), status=dict, ready=lambda: True, healthy=lambda: True,
        request_timeout=3.0, workers=1, max_pending=1,
    )  # fmt: skip
    with http:
        busy = [slow_client(http.port)]
        time.sleep(0.2)  # the worker has taken it: the next one waits
        busy.append(slow_client(http.port))
        time.sleep(0.2)
        try:
            with socket.create_connection(("127.0.0.1", http.port), timeout=2) as third:
                began = time.monotonic()
                answer = third.recv(4096)
                assert answer.startswith(b"HTTP/1.1 503 "), answer
                assert time.monotonic() - began < 1.0
        finally:
            for sock in busy:
                sock.close()
        time.sleep(0.2)
        assert healthz(http.port) == 200  # the worker is free again once its client went away
