"""A tiny HTTP-over-unix-socket proxy that forwards to the lab's Docker socket and counts requests.

Point ``DOCKER_HOST=unix://<proxy.socket_path>`` at it (the docker CLI, or the reconciler) and read
``proxy.counts()`` afterwards: requests by method (GET/HEAD are reads; POST/PUT/DELETE are writes)
and by route (``POST /services/{id}/update``). Keep-alive, chunked and streamed answers (``/events``)
are relayed as they come. Used by the benchmarks for their baselines; it adds its own latency, so
wall times are measured without it and counts with it.
"""

from __future__ import annotations

import http.client
import re
import socketserver
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.lab.host import UnixHTTPConnection

__all__ = ["CountingProxy", "Counts", "route_of"]

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade"}
_VERSION = re.compile(r"^/v\d+(\.\d+)?")
_WRITES = {"POST", "PUT", "DELETE", "PATCH"}
# Path segments that are object IDs or names (everything after a collection, except known verbs).
_VERBS = {"create", "update", "json", "inspect", "logs", "prune", "remove", "tasks", "connect", "disconnect"}


def route_of(method: str, path: str) -> str:
    """``POST /v1.41/services/abc123/update?version=7`` → ``POST /services/{id}/update``."""
    bare = _VERSION.sub("", path.split("?", 1)[0])
    parts = [p for p in bare.split("/") if p]
    shown = [parts[0]] if parts else []
    shown += [p if p in _VERBS else "{id}" for p in parts[1:]]
    return f"{method} /{'/'.join(shown)}"


@dataclass
class Counts:
    by_method: Counter[str] = field(default_factory=Counter)
    by_route: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.by_method.values())

    @property
    def writes(self) -> int:
        return sum(n for method, n in self.by_method.items() if method in _WRITES)

    @property
    def reads(self) -> int:
        return self.total - self.writes

    def as_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "reads": self.reads,
            "writes": self.writes,
            "by_method": dict(sorted(self.by_method.items())),
            "by_route": dict(self.by_route.most_common()),
        }


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    proxy: CountingProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    _upstream: UnixHTTPConnection | None = None

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        del format, args

    def address_string(self) -> str:
        return "unix"

    def finish(self) -> None:
        if self._upstream is not None:
            self._upstream.close()
        super().finish()

    def _body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else None

    def _forward(self) -> None:
        proxy = self.server.proxy
        body = self._body()
        proxy.record(self.command, self.path)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        if body is not None:
            headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):  # a kept-alive upstream connection may have been closed meanwhile
            if self._upstream is None:
                self._upstream = UnixHTTPConnection(proxy.upstream, proxy.timeout)
            try:
                self._upstream.request(self.command, self.path, body=body, headers=headers)
                answer = self._upstream.getresponse()
                break
            except (OSError, http.client.HTTPException):
                self._upstream.close()
                self._upstream = None
                if attempt == 2:
                    self.send_error(502, "upstream failed")
                    return
        self.send_response_only(answer.status, answer.reason)
        for key, value in answer.getheaders():
            if key.lower() not in _HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        length = answer.getheader("Content-Length")
        if self.command == "HEAD" or answer.status in (204, 304):
            if length is not None:
                self.send_header("Content-Length", length)
            self.end_headers()
            answer.read()
        elif length is not None:
            data = answer.read()
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        else:  # chunked or streamed (events): relay chunk by chunk
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            while True:
                data = answer.read1(65536)
                if not data:
                    break
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()
        if answer.will_close and self._upstream is not None:
            self._upstream.close()
            self._upstream = None

    do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _forward


class CountingProxy:
    """``with CountingProxy(lab_socket, folder / "proxy.sock") as proxy:`` → ``proxy.url``."""

    def __init__(self, upstream: str | Path, socket_path: str | Path, timeout: float = 60.0) -> None:
        self.upstream = str(upstream)
        self.socket_path = Path(socket_path)
        self.timeout = timeout
        self._lock = threading.Lock()
        self._counts = Counts()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def record(self, method: str, path: str) -> None:
        with self._lock:
            self._counts.by_method[method] += 1
            self._counts.by_route[route_of(method, path)] += 1

    def reset(self) -> None:
        with self._lock:
            self._counts = Counts()

    def counts(self) -> Counts:
        with self._lock:
            return Counts(Counter(self._counts.by_method), Counter(self._counts.by_route))

    def start(self) -> CountingProxy:
        self.socket_path.unlink(missing_ok=True)
        self._server = _Server(str(self.socket_path), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="counting-proxy",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.socket_path.unlink(missing_ok=True)

    def __enter__(self) -> CountingProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
