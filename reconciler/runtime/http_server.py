"""HTTP requests → the controller's answers: ``/healthz`` and ``/readyz`` become probe verdicts,
``/metrics`` the Prometheus text of a ``Metrics``, ``/status`` the JSON of a status snapshot, and
``POST /hooks/git`` a call to the Git webhook (which only wakes the loop).

``ControllerHTTP`` serves these from a ``ThreadingHTTPServer`` on a daemon thread; it knows nothing
of the controller and only calls the callbacks it is given. Created and started by
``reconciler.runtime.controller``. Per-request lines go to ``logging`` at DEBUG, never to stderr.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from reconciler.runtime.metrics import Metrics

__all__ = ["MAX_WEBHOOK_BODY", "ControllerHTTP", "Webhook", "parse_listen"]

log = logging.getLogger(__name__)

MAX_WEBHOOK_BODY = 1 << 20
"""The largest webhook body accepted (1 MiB); Git push payloads are a few kilobytes."""

Webhook = Callable[[bytes, Mapping[str, str]], tuple[int, str]]
"""``(body, headers) -> (status, text)``; headers are looked up case-insensitively."""

# serve_forever only notices shutdown() between polls, so this bounds how long stop() takes.
_POLL_S = 0.1
# After an early answer (413, 404, ...), reading what the client is still sending lets it finish and
# read that answer; closing with unread data would reset the connection under it. Bounded, so a huge
# declared body is not read just to be thrown away.
_DRAIN_MAX_BYTES = 4 << 20
_DRAIN_MAX_S = 2.0
_CHUNK = 64 << 10

_GET = frozenset({"GET", "HEAD"})
_ROUTES: dict[str, frozenset[str]] = {
    "/healthz": _GET,
    "/readyz": _GET,
    "/metrics": _GET,
    "/status": _GET,
    "/hooks/git": frozenset({"POST"}),
}
_TEXT = "text/plain; charset=utf-8"
# Errors that mean "the address family is not available here", where ``:port`` falls back to IPv4.
_NO_IPV6 = {errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL, errno.EPROTONOSUPPORT}


def parse_listen(listen: str) -> tuple[str, int]:
    """``":9100"``, ``"127.0.0.1:0"``, ``"0.0.0.0:9100"``, ``"[::]:9100"``, ``"host:9100"``, ``"9100"``
    → ``(host, port)``; host ``""`` means every interface. Raises ``ValueError``.
    """
    text = listen.strip()
    if text.startswith("["):
        end = text.find("]")
        if end < 0 or text[end + 1 : end + 2] != ":":
            raise ValueError(f"listen address {listen!r}: expected [IPv6]:port")
        host, port_text = text[1:end], text[end + 2 :]
        try:
            socket.inet_pton(socket.AF_INET6, host)
        except OSError:
            raise ValueError(f"listen address {listen!r}: {host!r} is not an IPv6 address") from None
    elif ":" in text:
        host, _, port_text = text.rpartition(":")
        if ":" in host:
            raise ValueError(f"listen address {listen!r}: IPv6 addresses need brackets, e.g. [::1]:9100")
    else:
        host, port_text = "", text
    if not (port_text.isascii() and port_text.isdigit()) or int(port_text) > 65535:
        raise ValueError(f"listen address {listen!r}: port must be 0-65535")
    return host, int(port_text)


class _Headers(Mapping[str, str]):
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
        return f"_Headers({dict(self.items())!r})"


class _App:
    """What a request handler needs from ``ControllerHTTP``; handlers reach it through their server."""

    def __init__(
        self,
        metrics: Metrics,
        status: Callable[[], dict[str, Any]],
        ready: Callable[[], bool],
        healthy: Callable[[], bool],
        webhook: Webhook | None,
        request_timeout: float,
        max_body: int,
    ) -> None:
        self.metrics = metrics
        self.status = status
        self.ready = ready
        self.healthy = healthy
        self.webhook = webhook
        self.request_timeout = request_timeout
        self.max_body = max_body


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A slow or stuck client must not hold up stop(); its daemon thread dies with its socket.
    block_on_close = False

    def __init__(self, address: tuple[Any, ...], family: int, dual_stack: bool, app: _App) -> None:
        # TCPServer.__init__ creates the socket from address_family, so it must be set first.
        self.address_family = family
        self._dual_stack = dual_stack
        self.app = app
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self._dual_stack:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # Not HTTPServer.server_bind: it calls socket.getfqdn, a reverse-DNS lookup that can stall start().
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver's default prints a traceback to stderr.
        log.exception("HTTP: unexpected error serving %s", client_address)


class _BodyError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    # HTTP/1.1 so that ``Expect: 100-continue`` works; every response still closes the connection,
    # so no idle keep-alive connection holds a thread.
    protocol_version = "HTTP/1.1"
    server_version = "swarm-reconciler"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Per-read socket timeout for the request line and headers; the body has an overall deadline.
        self.connection.settimeout(self.server.app.request_timeout)
        self._responded = False
        self._body_left: int | None = 0

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def handle_expect_100(self) -> bool:
        # Refuse an oversized webhook body before the client sends it.
        if urlsplit(self.path).path == "/hooks/git":
            try:
                length = self._content_length()
            except _BodyError:
                length = 0
            if length > self.server.app.max_body:
                self._body_left = None
                self._send(413, "request body too large\n")
                return False
        return super().handle_expect_100()

    def _dispatch(self) -> None:
        try:
            self._body_left = None if "Transfer-Encoding" in self.headers else self._content_length()
            self._route()
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

    def _route(self) -> None:
        path = urlsplit(self.path).path
        allowed = _ROUTES.get(path)
        if allowed is None:
            self._send(404, "not found\n")
            return
        if self.command not in allowed:
            self._send(405, "method not allowed\n", {"Allow": ", ".join(sorted(allowed))})
            return
        app = self.server.app
        if path == "/healthz":
            ok = app.healthy()
            self._send(200 if ok else 503, "ok\n" if ok else "unhealthy\n")
        elif path == "/readyz":
            ok = app.ready()
            self._send(200 if ok else 503, "ok\n" if ok else "not ready\n")
        elif path == "/metrics":
            self._send(200, app.metrics.render(), content_type=app.metrics.content_type)
        elif path == "/status":
            # Strict JSON (no NaN): a status that cannot be encoded is a bug to log, not to paper over.
            text = json.dumps(app.status(), allow_nan=False) + "\n"
            self._send(200, text, content_type="application/json")
        else:
            self._webhook()

    def _webhook(self) -> None:
        hook = self.server.app.webhook
        if hook is None:
            self._send(404, "no webhook configured\n")
            return
        if self._body_left is None:
            self._send(411, "Content-Length required\n")
            return
        if self._body_left > self.server.app.max_body:
            self._send(413, "request body too large\n")
            return
        body = self._read_body(self._body_left)
        status, text = hook(body, _Headers(self.headers.items()))
        if not (isinstance(status, int) and 200 <= status <= 599 and isinstance(text, str)):
            raise TypeError(f"webhook returned {(status, text)!r}; expected (status 200-599, str)")
        self._send(status, text)

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
        deadline = time.monotonic() + self.server.app.request_timeout
        chunks: list[bytes] = []
        left = length
        while left > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _BodyError(408, "request body timed out\n")
            self.connection.settimeout(remaining)
            try:
                chunk = self.rfile.read1(min(left, _CHUNK))
            except TimeoutError:
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
        deadline = time.monotonic() + _DRAIN_MAX_S
        try:
            while left > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return
                self.connection.settimeout(remaining)
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
        content_type: str = _TEXT,
    ) -> None:
        data = body.encode() if isinstance(body, str) else body
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


def _bind(host: str, port: int, app: _App) -> _Server:
    """The first address of ``host`` that binds; ``""`` is IPv4+IPv6 where the host has IPv6, else IPv4."""
    candidates: list[tuple[int, tuple[Any, ...], bool]] = []
    if host:
        for af, _, _, _, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
            if af in (socket.AF_INET, socket.AF_INET6):
                candidates.append((int(af), tuple(sockaddr), False))
    else:
        if socket.has_ipv6:
            candidates.append((socket.AF_INET6, ("::", port), True))
        candidates.append((socket.AF_INET, ("0.0.0.0", port), False))
    if not candidates:
        raise OSError(errno.EADDRNOTAVAIL, f"no IPv4 or IPv6 address for {host!r}")
    for i, (family, address, dual_stack) in enumerate(candidates):
        try:
            return _Server(address, family, dual_stack, app)
        except OSError as exc:
            # Only "this family does not work here" moves on; "port in use" is the answer.
            if i == len(candidates) - 1 or exc.errno not in _NO_IPV6:
                raise
            log.debug("HTTP: cannot bind %s (%s), trying the next address", address, exc)
    raise AssertionError("unreachable")


class ControllerHTTP:
    """The controller's HTTP endpoint on a daemon thread: ``start()``, then ``stop()``; single use.

    Callbacks run on request threads, concurrently with each other and with the loop; ``webhook``
    should only wake the loop and return, e.g. ``(202, "sync queued\\n")``. ``request_timeout`` bounds
    reading a request (per read for headers, overall for the body); ``max_body`` caps the webhook body.
    """

    def __init__(
        self,
        listen: str,
        metrics: Metrics,
        status: Callable[[], dict[str, Any]],
        ready: Callable[[], bool],
        healthy: Callable[[], bool],
        webhook: Webhook | None = None,
        *,
        request_timeout: float = 10.0,
        max_body: int = MAX_WEBHOOK_BODY,
    ) -> None:
        self.listen = listen
        self._host, self._requested_port = parse_listen(listen)
        self._app = _App(metrics, status, ready, healthy, webhook, request_timeout, max_body)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._used = False

    @property
    def port(self) -> int:
        """The bound port (the real one when ``listen`` asked for port 0); only after ``start()``."""
        if self._port is None:
            raise RuntimeError("ControllerHTTP.port: not started")
        return self._port

    def start(self) -> None:
        """Bind and start serving; raises ``OSError`` if the address cannot be bound."""
        with self._lock:
            if self._used:
                raise RuntimeError("ControllerHTTP.start: already started (single use)")
            self._used = True
            server = _bind(self._host, self._requested_port, self._app)
            self._server = server
            self._port = server.server_port
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": _POLL_S},
                name=f"controller-http-{self._port}",
                daemon=True,
            )
            self._thread.start()
        log.info("HTTP: listening on %s (port %d)", self.listen, self._port)

    def stop(self, timeout: float = 1.0) -> None:
        """Stop accepting, close the socket, join the thread. Requests in flight are abandoned."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join(timeout)

    def __enter__(self) -> ControllerHTTP:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
