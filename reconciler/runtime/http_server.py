"""A listen address → a running HTTP endpoint for the controller, and back to a closed socket.

``parse_listen`` reads ``--listen`` (``:9100``, ``host:port``, ``[v6]:port``); ``ControllerHTTP`` binds
it (``:port`` is IPv4 and IPv6 where the host has IPv6, else IPv4) and serves the controller's routes
(``reconciler.runtime.http_endpoints``) through ``reconciler.runtime.http_handler`` on a daemon
thread until ``stop()``. It knows nothing of the controller and only calls the callbacks it is given.
Created and started by ``reconciler.runtime.manager.Manager``.
"""

from __future__ import annotations

import errno
import logging
import socket
import socketserver
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from reconciler.runtime.http_endpoints import Endpoints, Pages, Webhook
from reconciler.runtime.http_handler import MAX_PENDING, MAX_WEBHOOK_BODY, WORKERS, EndpointServer
from reconciler.runtime.metrics import Metrics

__all__ = ["ControllerHTTP", "parse_listen"]

log = logging.getLogger(__name__)

# serve_forever only notices shutdown() between polls, so this bounds how long stop() takes.
_POLL_S = 0.1
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


class _Server(EndpointServer):
    def __init__(
        self,
        address: tuple[Any, ...],
        family: int,
        dual_stack: bool,
        endpoints: Endpoints,
        **limits: Any,
    ) -> None:
        # TCPServer.__init__ creates the socket from address_family, so it must be set first.
        self.address_family = family
        self._dual_stack = dual_stack
        super().__init__(address, endpoints, **limits)

    def server_bind(self) -> None:
        if self._dual_stack:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # Not HTTPServer.server_bind: it calls socket.getfqdn, a reverse-DNS lookup that can stall start().
        socketserver.TCPServer.server_bind(self)
        self.server_name = str(self.server_address[0])
        self.server_port = int(self.server_address[1])


def _bind(host: str, port: int, endpoints: Endpoints, **limits: Any) -> _Server:
    """The first address of ``host`` that binds; ``""`` is IPv4+IPv6 where the host has IPv6, else IPv4.
    ``limits`` are ``EndpointServer``'s keyword arguments (timeouts, body cap, workers)."""
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
            return _Server(address, family, dual_stack, endpoints, **limits)
        except OSError as exc:
            # Only "this family does not work here" moves on; "port in use" is the answer.
            if i == len(candidates) - 1 or exc.errno not in _NO_IPV6:
                raise
            log.debug("HTTP: cannot bind %s (%s), trying the next address", address, exc)
    raise AssertionError("unreachable")


class ControllerHTTP:
    """The controller's HTTP endpoint on a daemon thread: ``start()``, then ``stop()``; single use.

    Callbacks run on request threads, concurrently with each other and with the loop; ``webhook``
    should only wake the loop and return, e.g. ``(202, "sync queued\\n")``. ``request_timeout`` (seconds)
    bounds reading a request: the request line and headers together from the accept, then the body;
    ``max_body`` (bytes) caps the webhook body; ``workers`` threads serve requests, and at most
    ``max_pending`` accepted connections wait for one (more are answered 503 at once).
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
        workers: int = WORKERS,
        max_pending: int = MAX_PENDING,
        pages: Pages | None = None,
    ) -> None:
        self.listen = listen
        self._host, self._requested_port = parse_listen(listen)
        self.endpoints = Endpoints(metrics, status, ready, healthy, webhook, pages)
        self._limits: dict[str, Any] = {
            "request_timeout": request_timeout,
            "max_body": max_body,
            "workers": workers,
            "max_pending": max_pending,
        }
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
            server = _bind(self._host, self._requested_port, self.endpoints, **self._limits)
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
