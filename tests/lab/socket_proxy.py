"""A local stand-in for the Tecnativa docker-socket-proxy: HAProxy on loopback in front of a Docker socket.

The reconciler talks to Docker only through ``DOCKER_HOST``, which in production points at a
`docker-socket-proxy <https://github.com/Tecnativa/docker-socket-proxy>`_ container. The tests run the
same access rules here with Debian's ``haproxy`` (no image, no container): ``render_haproxy_cfg`` writes
an ``haproxy.cfg`` whose frontend is the upstream one rule for rule, and ``SocketProxy`` runs it on
``127.0.0.1:<port>`` in front of a unix socket (normally the lab dockerd's), with its files in one folder::

    haproxy.cfg   the rendered configuration
    haproxy.log   haproxy's output (start-up messages and one access-log line per request)
    haproxy.pid   "<haproxy pid> <pid of the process that started it>" while it runs

Mirrored upstream version (see ``UPSTREAM_REFERENCE``): ``system_files/usr/local/etc/haproxy/haproxy.cfg.template``
at commit c3d2fda9e00bc86812d4dc64b47ee9e80e45eb21 (the newest version of the rules that could be read; the
older top-level ``haproxy.cfg`` has the same method gate), with the flag defaults of the ``Dockerfile`` at
that commit. Its rules, in order:

1. ``http-request deny unless METH_GET || { env(POST) -m bool }``: HAProxy's ``METH_GET`` matches GET and
   HEAD, so every other method (POST, PUT, DELETE, ...) needs ``POST=1``. There is no ``DELETE`` flag in
   that version: DELETE is governed by ``POST`` alone (a ``DELETE`` flag was only proposed, in upstream
   pull requests #102, #161 and #176, none merged at that commit), so ``render_haproxy_cfg`` refuses one.
2. ``http-request allow if { path,url_dec -m reg -i ^(/v[\\d\\.]+)?/<section> } { env(<FLAG>) -m bool }`` for
   each section (``ALLOW_*`` for a few container actions first): a section is reachable, with or without
   the ``/vX.YY`` prefix, only when its flag is true. The regex is a case-insensitive *prefix* match.
3. ``http-request deny``: everything else answers 403.
4. ``/events`` goes to a backend of its own with a long server timeout, so a quiet event stream stays open.

The flags are given to HAProxy exactly as upstream reads them, through ``env(<FLAG>)``; the values are
set by ``setenv`` lines in the ``global`` section (every known flag, so nothing leaks in from the test
runner's environment) and HAProxy runs with an almost empty environment.

Differences from the upstream file, none of which changes what is allowed: the bind address is the
given ``listen`` (upstream: ``:2375`` or ``[::]:2375 v4v6``), the server is the given socket (upstream:
``$SOCKET_PATH``), there is no ``pidfile`` or server-state file (they only serve reloads), HAProxy's built-in
error pages replace the image's identical ``errorfile`` copies, and the event stream's server timeout is
24h instead of none, plus a tunnel timeout (see ``render_haproxy_cfg``).

Only the standard library is used here.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Final

UPSTREAM_REFERENCE: Final = (
    "Tecnativa/docker-socket-proxy@c3d2fda9e00bc86812d4dc64b47ee9e80e45eb21:"
    "system_files/usr/local/etc/haproxy/haproxy.cfg.template"
)

#: The optional API version prefix upstream accepts in front of every section.
VERSION_PREFIX: Final = r"^(/v[\d\.]+)?"

#: ``(flag, path regex after the version prefix)``, in upstream order. A request is allowed by the first
#: rule whose regex matches ``path,url_dec`` (case-insensitively) while its flag is true.
SECTION_RULES: Final[tuple[tuple[str, str], ...]] = (
    ("ALLOW_RESTARTS", "/containers/[a-zA-Z0-9_.-]+/((stop)|(restart)|(kill))"),
    ("ALLOW_START", "/containers/[a-zA-Z0-9_.-]+/start"),
    ("ALLOW_STOP", "/containers/[a-zA-Z0-9_.-]+/stop"),
    ("ALLOW_PAUSE", "/containers/[a-zA-Z0-9_.-]+/pause"),
    ("ALLOW_UNPAUSE", "/containers/[a-zA-Z0-9_.-]+/unpause"),
    ("AUTH", "/auth"),
    ("BUILD", "/build"),
    ("COMMIT", "/commit"),
    ("CONFIGS", "/configs"),
    ("CONTAINERS", "/containers"),
    ("DISTRIBUTION", "/distribution"),
    ("EVENTS", "/events"),
    ("EXEC", "/exec"),
    ("GRPC", "/grpc"),
    ("IMAGES", "/images"),
    ("INFO", "/info"),
    ("NETWORKS", "/networks"),
    ("NODES", "/nodes"),
    ("PING", "/_ping"),
    ("PLUGINS", "/plugins"),
    ("SECRETS", "/secrets"),
    ("SERVICES", "/services"),
    ("SESSION", "/session"),
    ("SWARM", "/swarm"),
    ("SYSTEM", "/system"),
    ("TASKS", "/tasks"),
    ("VERSION", "/version"),
    ("VOLUMES", "/volumes"),
)

#: Every boolean flag upstream reads: the section flags plus the method switch.
FLAGS: Final = frozenset({"POST", *(flag for flag, _ in SECTION_RULES)})

#: Upstream's defaults (its Dockerfile ``ENV``; ``ALLOW_PAUSE``/``ALLOW_UNPAUSE`` are unset there, i.e. false).
UPSTREAM_DEFAULTS: Final[Mapping[str, int]] = {flag: 0 for flag in sorted(FLAGS)} | {
    "EVENTS": 1,
    "PING": 1,
    "VERSION": 1,
}

#: Upstream ``LOG_LEVEL`` default, and the levels HAProxy accepts there.
DEFAULT_LOG_LEVEL: Final = "info"
LOG_LEVELS: Final = frozenset({"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"})

#: Upstream settings that this module takes as arguments instead.
_REPLACED: Final[Mapping[str, str]] = {
    "SOCKET_PATH": "pass the socket as upstream_socket",
    "BIND_CONFIG": "pass the address as listen",
    "DISABLE_IPV6": "pass the address as listen",
}

#: What the reconciler needs (SPEC.md, "The controller"): GET on _ping, version, info, services, tasks,
#: nodes, networks, configs, secrets, volumes and events; POST and DELETE on services, networks, configs,
#: secrets and volumes (``POST=1`` opens every non-GET method on the enabled sections). Anything not
#: listed stays at upstream's default, which is 0 for all else: CONTAINERS, EXEC, IMAGES, BUILD, SWARM,
#: SYSTEM, PLUGINS, ... are denied.
RECONCILER_PROXY_SETTINGS: Final[Mapping[str, int]] = {
    "PING": 1,
    "VERSION": 1,
    "INFO": 1,
    "EVENTS": 1,
    "SERVICES": 1,
    "TASKS": 1,
    "NODES": 1,
    "NETWORKS": 1,
    "CONFIGS": 1,
    "SECRETS": 1,
    "VOLUMES": 1,
    "POST": 1,
}

HAPROXY_ENV: Final = "RECONCILER_HAPROXY"
SBIN_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
START_TIMEOUT: Final = 15.0
STOP_TIMEOUT: Final = 10.0
_PORT_ATTEMPTS: Final = 5
PR_SET_PDEATHSIG: Final = 1


class SocketProxyError(RuntimeError):
    """The proxy configuration is invalid, or haproxy could not be started or stopped."""


# ------------------------------------------------------------------------------------------- settings


def _flag_value(name: str, value: bool | int | str) -> int:
    """0 or 1, as ``env(name) -m bool`` would read it; anything ambiguous is refused."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[+-]?\d+\s*", value):
        number = int(value)
    else:
        # HAProxy casts the variable's text to an integer: "true" or "yes" would silently read as 0.
        raise SocketProxyError(f"{name}={value!r}: upstream flags are integers (0 revokes, 1 grants)")
    return 0 if number == 0 else 1


def resolve_settings(settings: Mapping[str, bool | int | str]) -> tuple[dict[str, int], str]:
    """Upstream defaults overlaid with ``settings``: ``({flag: 0|1} for every flag, log level)``.

    Unknown names are refused (a typo would otherwise silently deny or allow), and so is ``DELETE``,
    which the mirrored upstream version does not have.
    """
    flags = dict(UPSTREAM_DEFAULTS)
    log_level = DEFAULT_LOG_LEVEL
    for raw_name, value in settings.items():
        name = raw_name.upper()
        if name == "LOG_LEVEL":
            level = str(value).strip().lower()
            if level not in LOG_LEVELS:
                raise SocketProxyError(f"LOG_LEVEL={value!r}: expected one of {', '.join(sorted(LOG_LEVELS))}")
            log_level = level
        elif name == "DELETE":
            raise SocketProxyError(
                "DELETE: the mirrored docker-socket-proxy version has no DELETE flag; DELETE (like every "
                f"method but GET/HEAD) is allowed by POST=1 on the enabled sections ({UPSTREAM_REFERENCE})"
            )
        elif name in _REPLACED:
            raise SocketProxyError(f"{name}: {_REPLACED[name]}")
        elif name in FLAGS:
            flags[name] = _flag_value(name, value)
        else:
            raise SocketProxyError(
                f"unknown docker-socket-proxy setting {raw_name!r}; known: {', '.join(sorted(FLAGS))}"
            )
    return flags, log_level


# ---------------------------------------------------------------------------------------------- config


def _cfg_word(value: str, what: str) -> str:
    if not value or any(c.isspace() or c in "\"'#\\$" for c in value):
        raise SocketProxyError(f"{what} {value!r} cannot be written into haproxy.cfg (spaces or quotes)")
    return value


def render_haproxy_cfg(
    settings: Mapping[str, bool | int | str],
    upstream_socket: str,
    listen: str,
    *,
    events_timeout: str = "24h",
    tunnel_timeout: str = "1h",
) -> str:
    """An haproxy.cfg with upstream's access rules for ``settings`` (see the module docstring).

    ``settings`` holds docker-socket-proxy env flags (``{"NETWORKS": 1, "POST": "1", ...}``; names not
    given keep upstream's defaults: EVENTS, PING and VERSION on, all else off) and optionally
    ``LOG_LEVEL``. ``upstream_socket`` is the Docker unix socket, ``listen`` the bind address
    (``127.0.0.1:2375``).

    Timeouts are upstream's (client and server 10m) except two: the ``/events`` backend has
    ``timeout server <events_timeout>`` where upstream has ``0`` (none, which HAProxy warns about at
    every start), and ``timeout tunnel <tunnel_timeout>`` (upstream: unset) covers upgraded connections.
    The server timeout is the one that ends a silent stream (HAProxy logs ``sD``); ``timeout client``
    does not fire while a response streams to a client that has sent its whole request.
    """
    flags, log_level = resolve_settings(settings)
    server = _cfg_word(str(upstream_socket), "upstream socket")
    if not server.startswith("/"):
        raise SocketProxyError(f"upstream socket must be an absolute path, got {server!r}")
    bind = _cfg_word(listen, "listen address")
    lines = [
        f"# docker-socket-proxy rules mirrored from {UPSTREAM_REFERENCE}",
        "# Rendered by tests/lab/socket_proxy.py; the flags are read through env() exactly as upstream does.",
        "global",
        f"    log stdout format raw daemon {log_level}",
        "    maxconn 4000",
        "",
        "    # docker-socket-proxy settings (upstream: the container's environment)",
        *(f"    setenv {flag} {value}" for flag, value in sorted(flags.items())),
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    option http-server-close",
        "    option redispatch",
        "    retries 3",
        "    timeout http-request 10s",
        "    timeout queue 1m",
        "    timeout connect 10s",
        "    timeout client 10m",
        "    timeout server 10m",
        f"    timeout tunnel {_cfg_word(tunnel_timeout, 'timeout')}",
        "    timeout http-keep-alive 10s",
        "    timeout check 10s",
        "    maxconn 3000",
        "",
        "backend dockerbackend",
        f"    server dockersocket {server}",
        "",
        "backend docker-events",
        f"    server dockersocket {server}",
        f"    timeout server {_cfg_word(events_timeout, 'timeout')}",
        "",
        "frontend dockerfrontend",
        f"    bind {bind}",
        "    http-request deny unless METH_GET || { env(POST) -m bool }",
        "",
        "    # Allowed endpoints",
        *(
            f"    http-request allow if {{ path,url_dec -m reg -i {VERSION_PREFIX}{regex} }} {{ env({flag}) -m bool }}"
            for flag, regex in SECTION_RULES
        ),
        "    http-request deny",
        "    default_backend dockerbackend",
        "",
        f"    use_backend docker-events if {{ path,url_dec -m reg -i {VERSION_PREFIX}/events }}",
        "",
    ]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- proxy


def find_haproxy() -> str:
    """The haproxy binary: ``$RECONCILER_HAPROXY``, else the first ``haproxy`` on PATH or in the sbin dirs."""
    explicit = os.environ.get(HAPROXY_ENV)
    if explicit:
        return explicit
    found = shutil.which("haproxy", path=os.pathsep.join([os.environ.get("PATH", ""), SBIN_PATH]))
    if found is None:
        raise SocketProxyError("haproxy not found (apt-get install haproxy, or set RECONCILER_HAPROXY)")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free on ``host`` a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _argv(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0")] if raw else []


class SocketProxy:
    """One haproxy on ``127.0.0.1:<port>`` that filters the Docker API like docker-socket-proxy.

    ``start()`` renders the configuration into ``folder``, checks it (``haproxy -c``), runs
    ``haproxy -f <folder>/haproxy.cfg -db`` in the foreground as a child of this process, and waits until
    it answers ``/_ping`` (or, with ``PING=0``, answers at all). ``stop()`` ends that one process. As a
    context manager it starts on entry and stops on exit. Several proxies may run at once, each with its
    own folder and port; with ``port=None`` a free port is picked (and another one tried if it was taken
    meanwhile).

    haproxy gets SIGTERM from the kernel when the thread that started it dies (``PR_SET_PDEATHSIG``), so a
    killed test session leaves none behind; start proxies from the main thread (or one that outlives
    them). A folder whose recorded haproxy belongs to a process that is gone is taken over; one that
    belongs to another live process is refused.
    """

    def __init__(
        self,
        upstream_socket: str | os.PathLike[str],
        folder: str | os.PathLike[str],
        settings: Mapping[str, bool | int | str] = RECONCILER_PROXY_SETTINGS,
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        haproxy: str | None = None,
    ) -> None:
        self.upstream_socket = Path(upstream_socket)
        self.folder = Path(folder)
        self.settings: dict[str, bool | int | str] = dict(settings)
        self.flags, _ = resolve_settings(self.settings)  # fail early on a bad setting
        self.host = host
        self._fixed_port = port
        self.port: int | None = port
        self.haproxy = haproxy
        self.cfg_path = self.folder / "haproxy.cfg"
        self.log_path = self.folder / "haproxy.log"
        self.pid_path = self.folder / "haproxy.pid"
        self._proc: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        where = f"{self.host}:{self.port}" if self.port is not None else self.host
        state = f"pid {self.pid}" if self.running else "stopped"
        return f"SocketProxy({where} -> {self.upstream_socket}, {state})"

    # ------------------------------------------------------------------------------------------ access

    @property
    def listen(self) -> str:
        if self.port is None:
            raise SocketProxyError("the proxy has no port yet; start() it first")
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        """``tcp://127.0.0.1:PORT``, for ``DOCKER_HOST`` or ``docker.DockerClient(base_url=...)``."""
        return f"tcp://{self.listen}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def request(self, method: str, path: str, timeout: float = 5.0) -> tuple[int, bytes]:
        """One plain HTTP request through the proxy: ``(status, body)``."""
        if self.port is None:
            raise SocketProxyError("the proxy has no port yet; start() it first")
        conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    # ----------------------------------------------------------------------------------------- control

    def start(self, timeout: float = START_TIMEOUT) -> SocketProxy:
        """Render, check and start haproxy; return once it answers. Returns self."""
        if self.running:
            return self
        if not self.upstream_socket.is_absolute():
            raise SocketProxyError(f"upstream socket must be an absolute path, got {self.upstream_socket}")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stop_stale()
        binary = self.haproxy or find_haproxy()
        attempts = 1 if self._fixed_port is not None else _PORT_ATTEMPTS
        for attempt in range(1, attempts + 1):
            self.port = self._fixed_port if self._fixed_port is not None else free_port(self.host)
            self._write_cfg(binary)
            try:
                self._spawn(binary, timeout)
                return self
            except _PortTaken:
                if attempt == attempts:
                    raise SocketProxyError(f"haproxy could not bind {self.listen}:\n{self.log_tail()}") from None
        raise AssertionError("unreachable")

    def stop(self) -> None:
        """Stop the haproxy this object started (SIGTERM, then SIGKILL). Idempotent."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_TIMEOUT)
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()

    def __enter__(self) -> SocketProxy:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --------------------------------------------------------------------------------------- internals

    def _write_cfg(self, binary: str) -> None:
        cfg = render_haproxy_cfg(self.settings, str(self.upstream_socket), self.listen)
        self.cfg_path.write_text(cfg)
        check = subprocess.run(
            [binary, "-c", "-f", str(self.cfg_path)],
            capture_output=True,
            text=True,
            timeout=30,
            env=self._env(),
            stdin=subprocess.DEVNULL,
            check=False,
        )
        if check.returncode != 0:
            out = (check.stdout + check.stderr).strip()
            raise SocketProxyError(f"`{binary} -c -f {self.cfg_path}` rejected the configuration:\n{out}")

    @staticmethod
    def _env() -> dict[str, str]:
        # Nothing from the caller's environment: upstream flags such as POST must come from setenv only.
        return {"PATH": SBIN_PATH, "LANG": "C.UTF-8"}

    def _spawn(self, binary: str, timeout: float) -> None:
        argv = [binary, "-f", str(self.cfg_path), "-db"]
        with self.log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {shlex.join(argv)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._env(),
                cwd=self.folder,
                start_new_session=True,  # a Ctrl-C of the test session does not reach it before stop()
                close_fds=True,
                preexec_fn=_die_with_parent,
            )
        self.pid_path.write_text(f"{self._proc.pid} {os.getpid()}\n")  # haproxy, and the process that owns it
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        last = "no answer yet"
        while True:
            code = self._proc.poll()
            if code is not None:
                tail = self.log_tail()
                if "cannot bind socket" in tail or "Address already in use" in tail:
                    raise _PortTaken
                raise SocketProxyError(f"haproxy exited with status {code} while starting:\n{tail}")
            try:
                status, body = self.request("GET", "/_ping", timeout=2.0)
            except (OSError, http.client.HTTPException) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if status == 200 and body == b"OK":
                    return
                if status == 403 and not self.flags["PING"]:
                    return  # haproxy answers, and this proxy forbids /_ping by design
                last = f"HTTP {status}: {body[:200]!r}"
            if time.monotonic() > deadline:
                raise SocketProxyError(
                    f"haproxy on {self.listen} did not answer /_ping through {self.upstream_socket} "
                    f"within {timeout:.0f} s (last: {last}):\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _stop_stale(self) -> None:
        """Stop an haproxy left running in this folder by a test process that is gone; refuse a live one's."""
        try:
            pid, owner = (int(word) for word in self.pid_path.read_text().split())
        except (OSError, ValueError):
            return
        argv = _argv(pid)
        if argv and os.path.basename(argv[0]) == "haproxy" and str(self.cfg_path) in argv:
            if owner != os.getpid() and Path(f"/proc/{owner}").exists():
                raise SocketProxyError(f"{self.folder} is in use by haproxy pid {pid} of process {owner}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + STOP_TIMEOUT
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        with contextlib.suppress(FileNotFoundError):
            self.pid_path.unlink()


def _die_with_parent() -> None:
    """In the child before exec: get SIGTERM when the process that started haproxy dies (even by SIGKILL)."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class _PortTaken(Exception):
    """haproxy could not bind the picked port (someone took it between the probe and the bind)."""
