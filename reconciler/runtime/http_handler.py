"""Bytes on one HTTP connection → one call of ``Endpoints`` → one response, then the connection closes.

``RequestHandler`` does the protocol work the endpoints should not see: ``Expect: 100-continue`` (an
oversized webhook body is refused before it is sent), ``Content-Length`` checks (repeats that disagree
are refused), reading the request line and headers under one deadline counted from the accept, the
webhook body under another and a size cap, draining what a client is still sending after an early
answer, a short 500 for a failing callback (details to the log), and per-request log lines at DEBUG,
never to stderr. ``EndpointServer`` is the ``HTTPServer`` that carries the endpoints and limits to
its handlers and serves connections on a fixed pool of worker threads (``http_limits``);
``reconciler.runtime.http_server`` binds it.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket
import time
from collections.abc import Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlsplit

from reconciler.runtime.http_endpoints import TEXT, WEBHOOK_PATH, Endpoints
from reconciler.runtime.http_limits import DeadlineReader, WorkerPool, refuse_busy

__all__ = ["MAX_PENDING", "MAX_WEBHOOK_BODY", "WORKERS", "EndpointServer", "RequestHandler", "RequestHeaders"]

# The name these lines had before the handler had a module of its own: log collectors may filter on it.
log = logging.getLogger("reconciler.runtime.http_server")

MAX_WEBHOOK_BODY = 1 << 20
"""The largest webhook body accepted (1 MiB); Git push payloads are a few kilobytes."""
WORKERS = 8
"""Threads serving requests: the endpoints answer in milliseconds, so a few serve any scraper."""
MAX_PENDING = 64
"""Accepted connections that may wait for a worker; the next one is answered 503 at once."""

# After an early answer (413, 404, ...), reading what the client is still sending lets it finish and
# read that answer; closing with unread data would reset the connection under it. Bounded, so a huge
# declared body is not read just to be thrown away.
_DRAIN_MAX_BYTES = 4 << 20
_DRAIN_MAX_S = 2.0
_CHUNK = 64 << 10


class RequestHeaders(Mapping[str, str]):
    """Request headers, iterated as sent, looked up without regard to case; repeats are joined with ", "."""

    def __init__(self, items: Iterable[tuple[str, str]]) -> None:
        self._by_key: dict[str, tuple[str, str]] = {}
        for name, value in items:
            key = name.lower()
            if key in self._by_key:
                first, previous = self._by_key[key]
                self._by_key[key] = (first, f"{previous}, {value}")
            else:
                self._by_key[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._by_key[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)

    def __repr__(self) -> str:
        return f"RequestHeaders({dict(self.items())!r})"


class EndpointServer(HTTPServer):
    """An HTTP server whose handlers answer through ``endpoints``, on ``workers`` threads.

    ``request_timeout`` (seconds) bounds reading a request: the request line and headers together,
    counted from the accept (a connection that waited for a worker has had part of it), then the body;
    ``max_body`` (bytes) caps the webhook body. At most ``max_pending`` accepted connections wait for
    a worker; one more is answered 503 and closed. A stuck client holds one worker for at most
    ``request_timeout``; ``server_close`` does not wait for it.
    """

    # The listen backlog: socketserver's 5 drops a burst of connects (each retried after 1 s) before
    # the accept loop can answer them; the kernel, not a thread, holds these.
    request_queue_size = 128

    def __init__(
        self,
        address: tuple[Any, ...],
        endpoints: Endpoints,
        *,
        request_timeout: float,
        max_body: int,
        workers: int = WORKERS,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self.endpoints = endpoints
        self.request_timeout = request_timeout
        self.max_body = max_body
        self._pool: WorkerPool | None = None
        super().__init__(address, RequestHandler)
        # Only once the socket is bound: a failed bind leaves no threads behind.
        self._pool = WorkerPool(
            self._serve, workers=workers, max_pending=max_pending, name=f"controller-http-{self.server_address[1]}"
        )

    def process_request(self, request: Any, client_address: Any) -> None:
        # Called on serve_forever's thread for each accepted connection: hand it over, never block.
        if self._pool is None or not self._pool.submit(request, client_address):
            log.warning("HTTP: every worker is busy, %s answered 503", client_address)
            refuse_busy(request)

    def _serve(self, connection: socket.socket, address: Any, accepted_at: float) -> None:
        try:
            RequestHandler(connection, address, self, accepted_at=accepted_at)
        except Exception:
            self.handle_error(connection, address)
        finally:
            self.shutdown_request(connection)

    def server_close(self) -> None:
        super().server_close()  # also called by __init__ when the bind fails, before there is a pool
        if self._pool is not None:
            self._pool.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver's default prints a traceback to stderr.
        log.exception("HTTP: unexpected error serving %s", client_address)


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RequestHandler(BaseHTTPRequestHandler):
    server: EndpointServer
    # HTTP/1.1 so that ``Expect: 100-continue`` works; every response still closes the connection,
    # so no idle keep-alive connection holds a thread.
    protocol_version = "HTTP/1.1"
    server_version = "swarm-reconciler"
    sys_version = ""

    def __init__(
        self, request: Any, client_address: Any, server: EndpointServer, *, accepted_at: float | None = None
    ) -> None:
        # ``accepted_at`` (time.monotonic()): when the connection was accepted; None: now.
        self._accepted_at = time.monotonic() if accepted_at is None else accepted_at
        super().__init__(request, client_address, server)  # serves the request before it returns

    def setup(self) -> None:
        super().setup()
        # One deadline for the request line and all headers together, counted from the accept: a
        # per-read timeout never fires for a client that sends a header line every few seconds.
        self.rfile.close()
        self._reader = DeadlineReader(self.connection, self._accepted_at + self.server.request_timeout)
        self.rfile = io.BufferedReader(self._reader, _CHUNK)
        self._responded = False
        self._body_left: int | None = 0

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def handle_expect_100(self) -> bool:
        # Refuse an oversized webhook body before the client sends it.
        if urlsplit(self.path).path == WEBHOOK_PATH:
            try:
                length = self._content_length()
            except _BodyError:
                length = 0
            if length > self.server.max_body:
                self._body_left = None
                self._send(413, "request body too large\n")
                return False
        return super().handle_expect_100()

    def _dispatch(self) -> None:
        try:
            self._body_left = None if "Transfer-Encoding" in self.headers else self._content_length()
            self._answer()
        except _BodyError as exc:
            self._send(exc.status, exc.message)
        except (BrokenPipeError, ConnectionResetError) as exc:
            log.debug("HTTP %s %s: client went away (%s)", self.command, self.path, exc)
        except Exception:
            # Any callback may fail; the answer is a short 500, the details go to the log.
            log.exception("HTTP %s %s failed", self.command, self.path)
            if not self._responded:
                with contextlib.suppress(OSError):
                    self._send(500, "internal error\n")
        finally:
            self._drain()

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _dispatch

    def _answer(self) -> None:
        endpoints = self.server.endpoints
        url = urlsplit(self.path)
        answer = endpoints.answer(self.command, url.path, url.query, RequestHeaders(self.headers.items()))
        if answer is None:  # the webhook: its answer needs the body
            answer = endpoints.call_webhook(self._webhook_body(), RequestHeaders(self.headers.items()))
        self._send(answer.status, answer.body, answer.headers, answer.content_type)

    def _webhook_body(self) -> bytes:
        if self._body_left is None:
            raise _BodyError(411, "Content-Length required\n")
        if self._body_left > self.server.max_body:
            raise _BodyError(413, "request body too large\n")
        return self._read_body(self._body_left)

    def _content_length(self) -> int:
        values = self.headers.get_all("Content-Length") or []
        if not values:
            return 0
        # Disagreeing repeats are a request-smuggling trick; refuse rather than pick one.
        if len(set(values)) != 1 or not (values[0].isascii() and values[0].strip().isdigit()):
            raise _BodyError(400, "bad Content-Length\n")
        return int(values[0])

    def _read_body(self, length: int) -> bytes:
        # One deadline for the whole body: a per-read timeout alone would let a client trickle a byte
        # at a time and keep the thread forever.
        self._reader.deadline = time.monotonic() + self.server.request_timeout
        chunks: list[bytes] = []
        left = length
        while left > 0:
            try:
                chunk = self.rfile.read1(min(left, _CHUNK))
            except TimeoutError:
                self._body_left = None  # a client too slow to send its body is not waited for again
                raise _BodyError(408, "request body timed out\n") from None
            if not chunk:
                raise _BodyError(400, "request body shorter than Content-Length\n")
            chunks.append(chunk)
            left -= len(chunk)
            self._body_left = left
        return b"".join(chunks)

    def _drain(self) -> None:
        left = self._body_left
        if not left or left > _DRAIN_MAX_BYTES:
            return
        self._reader.deadline = time.monotonic() + _DRAIN_MAX_S
        try:
            while left > 0:
                chunk = self.rfile.read1(min(left, _CHUNK))
                if not chunk:
                    return
                left -= len(chunk)
        except OSError:
            return
        finally:
            self._body_left = 0

    def _send(
        self,
        status: int,
        body: str | bytes,
        headers: Mapping[str, str] | None = None,
        content_type: str = TEXT,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
        # Reads left the socket with what remained of their deadline; a write gets a timeout of its own.
        self.connection.settimeout(self.server.request_timeout)
        self._responded = True
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
