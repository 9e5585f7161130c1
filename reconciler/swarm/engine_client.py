"""HTTP to the Docker Engine API with the standard library: an engine address (``unix://``, ``tcp://``,
``http(s)://``) and a request in, the answer's bytes or JSON out; Engine error answers raise
``EngineError`` (status, the Engine's ``message``), transport failures raise ``OSError`` or
``http.client.HTTPException``. Called by ``reconciler.swarm.docker_api`` only.

Why not docker-py: the adapter sends raw JSON to about fifteen endpoints and used none of docker-py's
translations, yet ``import docker`` cost every command ~70 ms and the controller ~15 MB (requests,
urllib3, charset-normalizer). ``http.client`` does the HTTP; this module only adds what docker-py did
for the adapter, the same way (docker-py 7.x ``docker/api/client.py``, ``docker/utils/utils.py``):

- the address: ``unix:///path`` (default ``/var/run/docker.sock``), ``tcp://host[:port]`` (port 2375,
  2376 with TLS), ``http://`` and ``https://``; ``ssh://`` and other schemes are refused with the fix;
- TLS from the environment like the docker CLI: ``DOCKER_TLS_VERIFY`` (set and not empty: verify the
  engine against ``ca.pem``) and ``DOCKER_CERT_PATH`` (default ``~/.docker``; ``cert.pem``/``key.pem``
  are the client's certificate);
- the API version: ``GET /version`` (unversioned) once, then every path under ``/v<ApiVersion>``;
- keep-alive connections in a small pool, several threads at once (an apply writes from up to ten),
  a pooled connection the engine closed meanwhile is dropped before reuse (urllib3's
  ``is_connection_dropped``); a GET that a reused connection lost before any answer (the engine
  closed it as the request went out) is sent once more on a new connection, as Go's ``net/http``
  retries an idempotent request (RFC 9110 9.2.2); a write is never sent twice;
- an answer past 512 MiB raises ``HTTPException`` rather than a ``MemoryError`` (read a piece at a time);
- a streamed answer (``/events``) read as one JSON document per line; ``close()`` from another thread
  ends the iteration (docker-py's ``CancellableStream``).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from reconciler.swarm.unreachable import DEFAULT_SOCKET

__all__ = ["EngineAddress", "EngineClient", "EngineError", "JsonLines", "UnsupportedAddress"]

_POOL_SIZE = 10  # idle connections kept; more may be open at once (docker-py's pool is 10 too)
_USER_AGENT = "swarm-reconciler"
_MAX_BODY = 512 << 20  # an answer larger than this is no engine's (10,000 services are ~50 MB of JSON)
_READ_SIZE = 1 << 20
_UNIX_PATH_MAX = 107  # sockaddr_un's sun_path is 108 bytes on Linux, with its terminating NUL (unix(7))


class UnsupportedAddress(ValueError):
    """An engine address this client cannot speak, or TLS files it cannot use; the text names the fix."""


class EngineError(Exception):
    """The engine answered with an error status; ``message`` is its ``{"message": …}`` or the body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


@dataclass(frozen=True)
class EngineAddress:
    """Where the engine listens: a unix socket ``path``, or ``host``:``port`` with ``tls`` or without."""

    text: str
    path: str | None = None
    host: str = ""
    port: int = 0
    tls: ssl.SSLContext | None = None

    @classmethod
    def parse(cls, text: str | None, environ: Mapping[str, str] | None = None) -> EngineAddress:
        """``text``, else ``DOCKER_HOST``, else the default socket. Raises ``UnsupportedAddress``."""
        env = os.environ if environ is None else environ
        text = text or env.get("DOCKER_HOST") or DEFAULT_SOCKET
        try:
            parts = urlsplit(text)
        except ValueError as exc:  # "tcp://[::1": an IPv6 literal without its closing bracket
            raise UnsupportedAddress(f"{text} is not an engine address: {exc}; write tcp://[::1]:2375") from exc
        scheme = parts.scheme.lower()
        if scheme == "unix":
            path = (parts.netloc + parts.path) or DEFAULT_SOCKET.removeprefix("unix://")
            if len(os.fsencode(path)) > _UNIX_PATH_MAX:  # connect() would fail with a bare "AF_UNIX path too long"
                raise UnsupportedAddress(
                    f"{text} is not an engine address: the socket path is {len(os.fsencode(path))} bytes, more "
                    f"than the {_UNIX_PATH_MAX} a unix socket address holds; link it from a shorter path "
                    "(ln -s PATH /tmp/docker.sock) and use unix:///tmp/docker.sock"
                )
            return cls(text, path=path)
        if scheme not in ("tcp", "http", "https") or not parts.hostname:
            fix = "write unix:///path/to/docker.sock or tcp://host:port"
            if scheme == "ssh":
                fix = ("ssh:// is not supported: forward the engine's socket "
                       "(ssh -nNT -L /tmp/docker.sock:/var/run/docker.sock HOST) and use unix:///tmp/docker.sock")  # fmt: skip
            raise UnsupportedAddress(f"{text} is not an engine address: {fix}")
        tls = _tls_context(env, text) if scheme != "http" else None
        if scheme == "https" and tls is None:
            tls = ssl.create_default_context()
        try:
            port = parts.port or (2376 if tls else 2375)
        except ValueError as exc:  # a port that is no number
            raise UnsupportedAddress(f"{text} is not an engine address: {exc}; write tcp://host:port") from exc
        return cls(text, host=parts.hostname, port=port, tls=tls)

    def connection(self, timeout: float | None) -> http.client.HTTPConnection:
        if self.path is not None:
            return _UnixConnection(self.path, timeout)
        if self.tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)


def _tls_context(env: Mapping[str, str], address: str) -> ssl.SSLContext | None:
    """The docker CLI's TLS settings (docker-py ``kwargs_from_env``): None when TLS is not asked for.
    A file that cannot be read or is no PEM raises ``UnsupportedAddress`` naming it (docker-py's
    ``TLSParameterError`` was a ``DockerException``, which ``connect`` turned into its sentence)."""
    cert_path = env.get("DOCKER_CERT_PATH") or None
    verify = env.get("DOCKER_TLS_VERIFY") not in (None, "")  # set to "" counts as false
    if not (cert_path or verify):
        return None
    folder = cert_path or os.path.join(os.path.expanduser("~"), ".docker")
    ca, cert, key = (os.path.join(folder, name) for name in ("ca.pem", "cert.pem", "key.pem"))
    using = ca
    try:
        context = ssl.create_default_context(cafile=ca if verify else None)
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if os.path.exists(cert) and os.path.exists(key):
            using = f"{cert} with {key}"
            context.load_cert_chain(cert, key)
    except OSError as exc:  # ssl.SSLError too: a file missing, unreadable or not PEM
        raise UnsupportedAddress(
            f"TLS for {address} (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH): cannot use {using}: "
            f"{exc.strerror or exc}; put the engine's ca.pem and the client's cert.pem and key.pem in "
            f"{folder} or point DOCKER_CERT_PATH at the folder that holds them"
        ) from exc
    return context


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        # A unix socket whose listen backlog is full refuses at once with EAGAIN where TCP would wait
        # (a busy engine or proxy, ten apply workers connecting together): try again until the timeout.
        deadline = time.monotonic() + (self.timeout if self.timeout is not None else 30)
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
            except BlockingIOError:
                sock.close()
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.002)
                continue
            except BaseException:
                sock.close()
                raise
            self.sock = sock
            return


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive connection the engine closed (readable means EOF: no answer is pending)."""
    sock = conn.sock
    if sock is None:
        return True
    try:
        poller = select.poll()  # not select(): a descriptor above 1023 is out of its range
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class EngineClient:
    """Requests to one engine. ``timeout``: seconds per connect and per read. Thread-safe."""

    def __init__(self, address: EngineAddress, timeout: float = 30, version: str | None = None) -> None:
        self.address = address
        self.timeout = timeout
        self._version = version
        self._idle: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    @property
    def api_version(self) -> str:
        """The engine's ``ApiVersion``, asked once (``GET /version``)."""
        if self._version is None:
            self._version = str(self.get_json("/version", versioned=False)["ApiVersion"])
        return self._version

    def url(self, path: str, params: Mapping[str, Any] | None = None, *, versioned: bool = True) -> str:
        target = f"/v{self.api_version}{quote(path, safe='/:?=&')}" if versioned else path
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"{target}{'&' if '?' in target else '?'}{query}" if query else target

    def request(self, method: str, path: str, params: Mapping[str, Any] | None = None, body: Any = None,
                *, versioned: bool = True) -> bytes:  # fmt: skip
        """The answer's body; ``EngineError`` for a status of 400 or more. ``body`` is sent as JSON."""
        url = self.url(path, params, versioned=versioned)
        headers = {"User-Agent": _USER_AGENT}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn, reused = self._take()
        try:
            conn.request(method, url, body=data, headers=headers)
            response = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            if not (reused and method == "GET"):
                raise
            conn = self.address.connection(self.timeout)
            try:
                conn.request(method, url, body=data, headers=headers)
                response = conn.getresponse()
            except BaseException:
                conn.close()
                raise
        except BaseException:
            conn.close()
            raise
        try:
            content = _read_body(response)
        except BaseException:
            conn.close()
            raise
        self._give_back(conn, response)
        if response.status >= 400:
            raise EngineError(response.status, _message(content))
        return content

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *, versioned: bool = True) -> Any:
        return json.loads(self.request("GET", path, params, versioned=versioned))

    def stream(self, path: str, params: Mapping[str, Any] | None = None) -> JsonLines:
        """A streamed answer on a connection of its own, without a read timeout."""
        conn = self.address.connection(self.timeout)
        try:
            conn.request("GET", self.url(path, params), headers={"User-Agent": _USER_AGENT})
            response = conn.getresponse()
            if response.status >= 400:
                raise EngineError(response.status, _message(_read_body(response)))
            if conn.sock is not None:
                conn.sock.settimeout(None)  # events come when they come
        except BaseException:
            conn.close()
            raise
        return JsonLines(conn, response)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def _take(self) -> tuple[http.client.HTTPConnection, bool]:
        """A connection, and whether it comes from the pool (may have been closed by the engine since)."""
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return self.address.connection(self.timeout), False
            if not _dropped(conn):
                return conn, True
            conn.close()

    def _give_back(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        if response.will_close:
            conn.close()
            return
        with self._lock:
            if len(self._idle) < _POOL_SIZE:
                self._idle.append(conn)
                return
        conn.close()


def _read_body(response: http.client.HTTPResponse) -> bytes:
    """The whole body, read a piece at a time: a Content-Length or a chunked answer past ``_MAX_BODY``
    raises instead of asking for that much memory at once (a ``MemoryError`` out of ``read()``)."""
    if response.length is not None and response.length > _MAX_BODY:
        raise http.client.HTTPException(f"an answer of {response.length} bytes, more than {_MAX_BODY}")
    pieces: list[bytes] = []
    size = 0
    while piece := response.read(_READ_SIZE):
        size += len(piece)
        if size > _MAX_BODY:
            raise http.client.HTTPException(f"an answer of more than {_MAX_BODY} bytes")
        pieces.append(piece)
    return b"".join(pieces)


def _message(content: bytes) -> str:
    """The Engine's ``{"message": …}``, else the body as text (docker-py ``create_api_error_from_http_exception``)."""
    text = content.decode("utf-8", "replace").strip()
    try:
        found = json.loads(text)
    except ValueError:
        return text
    return str(found.get("message", text)) if isinstance(found, dict) else text


class JsonLines:
    """The documents of a streamed answer, one per line; ``close()`` (any thread) ends the iteration."""

    def __init__(self, conn: http.client.HTTPConnection, response: http.client.HTTPResponse) -> None:
        self._conn = conn
        self._response = response
        self._closed = threading.Event()

    def __iter__(self) -> Iterator[Any]:
        try:
            while not self._closed.is_set():
                line = self._response.readline()
                if not line:
                    return
                if not line.endswith(b"\n") and not self._closed.is_set():  # the engine's lines all end so
                    raise http.client.IncompleteRead(line, None)  # the stream was cut inside a document
                if line.strip():
                    yield json.loads(line)
        except (OSError, ValueError, http.client.HTTPException):
            if not self._closed.is_set():
                raise
        finally:
            self._conn.close()

    def close(self) -> None:
        self._closed.set()
        sock = self._conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # wakes a reader blocked in recv
