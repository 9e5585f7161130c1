"""The docker-socket-proxy stand-in (HAProxy on loopback) filters the lab engine's API like upstream does.

Everything goes through the docker SDK over ``tcp://127.0.0.1:<port>``, as the reconciler will; denials
are asserted on the HTTP status (403) and on HAProxy's own error page, so a 403 from dockerd itself could
not pass for one.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import secrets
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import docker
import docker.errors
import pytest

from tests.lab import Lab
from tests.lab.socket_proxy import (
    FLAGS,
    RECONCILER_PROXY_SETTINGS,
    SocketProxy,
    SocketProxyError,
    find_haproxy,
    render_haproxy_cfg,
    resolve_settings,
)

if TYPE_CHECKING:
    from tests.conftest import MakeSocketProxy


#: HAProxy's built-in 403 page (the same text as upstream's errorfile).
FORBIDDEN_PAGE = "Request forbidden by administrative rules"


@contextlib.contextmanager
def _connect(proxy: SocketProxy, **kwargs: Any) -> Iterator[docker.DockerClient]:
    """A docker SDK client on the proxy's ``tcp://`` URL (DockerClient is no context manager itself)."""
    proxied = docker.DockerClient(base_url=proxy.url, timeout=30, **kwargs)
    try:
        yield proxied
    finally:
        proxied.close()


@pytest.fixture(scope="module")
def client(socket_proxy: SocketProxy) -> Iterator[docker.DockerClient]:
    """A docker SDK client that talks to the lab only through the reconciler's proxy."""
    with _connect(socket_proxy) as proxied:
        yield proxied


def _name(prefix: str = "sp-test") -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def _remove_network(docker_client: docker.DockerClient, name: str) -> None:
    """Cleanup straight on the lab socket (works whatever the proxy allows)."""
    for net in docker_client.networks.list(names=[name]):
        if net.name == name:
            net.remove()


def _assert_forbidden(call: Callable[[], object]) -> None:
    with pytest.raises(docker.errors.APIError) as info:
        call()
    assert info.value.status_code == 403, info.value
    assert FORBIDDEN_PAGE in str(info.value.explanation), "the 403 did not come from the proxy"


# --------------------------------------------------------------------------------------- the config


def test_rendered_config_holds_upstream_rules_in_order() -> None:
    cfg = render_haproxy_cfg(RECONCILER_PROXY_SETTINGS, "/run/x/docker.sock", "127.0.0.1:2375")
    lines = [line.strip() for line in cfg.splitlines()]
    rules = [line for line in lines if line.startswith("http-request")]
    assert rules[0] == "http-request deny unless METH_GET || { env(POST) -m bool }"
    assert rules[-1] == "http-request deny"
    assert r"http-request allow if { path,url_dec -m reg -i ^(/v[\d\.]+)?/networks } { env(NETWORKS) -m bool }" in rules
    assert len(rules) == len(FLAGS) - 1 + 2  # one allow per section flag (all but POST), plus the two denies
    assert "use_backend docker-events if { path,url_dec -m reg -i ^(/v[\\d\\.]+)?/events }" in lines
    assert "server dockersocket /run/x/docker.sock" in lines
    assert "bind 127.0.0.1:2375" in lines
    # Every flag is pinned with setenv, so nothing is inherited from the environment.
    setenv = {line.split()[1]: line.split()[2] for line in lines if line.startswith("setenv ")}
    assert setenv.keys() == FLAGS
    enabled = {flag for flag, value in setenv.items() if value == "1"}
    assert enabled == set(RECONCILER_PROXY_SETTINGS)
    assert not enabled & {"CONTAINERS", "EXEC", "IMAGES", "BUILD", "SWARM", "SYSTEM", "PLUGINS", "AUTH"}


def test_settings_default_like_upstream_and_refuse_what_upstream_lacks() -> None:
    flags, level = resolve_settings({})
    assert {flag for flag, value in flags.items() if value} == {"EVENTS", "PING", "VERSION"}
    assert level == "info"
    flags, _ = resolve_settings({"networks": True, "POST": "1", "EVENTS": 0, "LOG_LEVEL": "warning"})
    assert flags["NETWORKS"] == flags["POST"] == 1 and flags["EVENTS"] == 0
    with pytest.raises(SocketProxyError, match="no DELETE flag"):
        resolve_settings({"DELETE": 1})
    with pytest.raises(SocketProxyError, match="unknown"):
        resolve_settings({"NETWORK": 1})
    with pytest.raises(SocketProxyError, match="integers"):
        resolve_settings({"POST": "true"})  # HAProxy would read "true" as 0
    with pytest.raises(SocketProxyError, match="upstream_socket"):
        resolve_settings({"SOCKET_PATH": "/var/run/docker.sock"})


@pytest.mark.parametrize(
    "settings", [RECONCILER_PROXY_SETTINGS, {}, dict.fromkeys(FLAGS, 1)], ids=["reconciler", "defaults", "all"]
)
def test_haproxy_accepts_the_config_without_warnings(tmp_path: Path, settings: dict[str, int]) -> None:
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(render_haproxy_cfg(settings, "/run/x/docker.sock", "127.0.0.1:2375"))
    proc = subprocess.run(
        [find_haproxy(), "-c", "-dW", "-f", str(cfg)], capture_output=True, text=True, timeout=30, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


# ------------------------------------------------------------------------------------- allowed calls


def test_allowed_reads_reach_the_lab(client: docker.DockerClient, lab: Lab) -> None:
    assert client.ping() is True
    assert client.version()["ApiVersion"]
    info = client.info()
    assert info["DockerRootDir"] == str(lab.data_dir)
    assert info["Swarm"]["LocalNodeState"] == "active"
    assert isinstance(client.services.list(), list)
    assert any(net.name == "ingress" for net in client.networks.list())
    assert len(client.nodes.list()) == 1
    assert isinstance(client.configs.list(), list)
    assert isinstance(client.secrets.list(), list)
    assert isinstance(client.volumes.list(), list)
    assert isinstance(client.api.tasks(), list)


def test_unversioned_paths_and_head_follow_the_same_rules(socket_proxy: SocketProxy) -> None:
    assert socket_proxy.request("GET", "/_ping") == (200, b"OK")
    assert socket_proxy.request("HEAD", "/v1.41/_ping")[0] == 200
    assert socket_proxy.request("GET", "/networks")[0] == 200
    assert socket_proxy.request("GET", "/containers/json")[0] == 403
    assert socket_proxy.request("GET", "/v1.41/containers/json")[0] == 403
    assert socket_proxy.request("GET", "/v1.41/%63ontainers/json")[0] == 403  # matched after url_dec
    assert socket_proxy.request("GET", "/")[0] == 403
    assert socket_proxy.request("OPTIONS", "/_ping")[0] == 200  # not GET/HEAD, but POST=1 and PING=1


def test_post_and_delete_on_networks(client: docker.DockerClient, docker_client: docker.DockerClient) -> None:
    name = _name()
    try:
        net = client.networks.create(name, driver="overlay", labels={"sp-test": "1"})
        # Not "Driver": right after create the swarm allocator may not have filled it (nor IPAM) yet.
        attrs = docker_client.networks.get(net.id).attrs
        assert (attrs["Name"], attrs["Scope"], attrs["Labels"]) == (name, "swarm", {"sp-test": "1"})
        net.remove()
        assert not docker_client.networks.list(names=[name])
    finally:
        _remove_network(docker_client, name)


def test_events_bounded_by_since_and_until(client: docker.DockerClient, docker_client: docker.DockerClient) -> None:
    name = _name()
    since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    try:
        client.networks.create(name, driver="overlay").remove()
        until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)
        events = list(
            client.events(since=since, until=until, decode=True, filters={"type": "network", "network": name})
        )
    finally:
        _remove_network(docker_client, name)
    actions = [event["Action"] for event in events if event["Actor"]["Attributes"].get("name") == name]
    assert {"create", "remove"} <= set(actions), events  # swarm-scoped networks: create, update, remove


def test_live_event_stream(client: docker.DockerClient, docker_client: docker.DockerClient) -> None:
    name = _name()
    # The SDK sends the request here and returns once dockerd has subscribed and sent the headers.
    stream = client.events(decode=True, filters={"type": "network", "network": name})
    try:
        net = client.networks.create(name, driver="overlay")
        event = next(stream)
        assert (event["Type"], event["Action"]) == ("network", "create")
        assert event["Actor"]["ID"] == net.id
    finally:
        stream.close()
        # Also the event that lets HAProxy notice the closed client and drop its dockerd subscription.
        _remove_network(docker_client, name)


# ----------------------------------------------------------------------------------- forbidden calls

FORBIDDEN: dict[str, Callable[[docker.DockerClient], object]] = {
    "containers.list": lambda c: c.containers.list(),
    "containers.create": lambda c: c.containers.create("busybox", "true"),
    "containers.run": lambda c: c.containers.run("busybox", "true", remove=True),
    "images.list": lambda c: c.images.list(),
    "exec create": lambda c: c.api.exec_create("sp-test-nonexistent", "true"),
    "exec start": lambda c: c.api.exec_start("0" * 64),
    "build": lambda c: list(c.api.build(fileobj=io.BytesIO(b"FROM scratch\n"), decode=True)),
    "swarm inspect": lambda c: c.api.inspect_swarm(),
    "plugins.list": lambda c: c.plugins.list(),
    "system df": lambda c: c.df(),
}


@pytest.mark.parametrize("call", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_what_the_reconciler_never_needs_is_forbidden(
    client: docker.DockerClient, call: Callable[[docker.DockerClient], object]
) -> None:
    _assert_forbidden(lambda: call(client))


def test_without_networks_flag(make_socket_proxy: MakeSocketProxy) -> None:
    proxy = make_socket_proxy({**RECONCILER_PROXY_SETTINGS, "NETWORKS": 0}, name="no-networks")
    with _connect(proxy) as restricted:
        assert isinstance(restricted.services.list(), list)
        _assert_forbidden(restricted.networks.list)
        _assert_forbidden(lambda: restricted.networks.create(_name(), driver="overlay"))


def test_without_post_only_get_and_head_pass(
    make_socket_proxy: MakeSocketProxy, docker_client: docker.DockerClient
) -> None:
    proxy = make_socket_proxy({**RECONCILER_PROXY_SETTINGS, "POST": 0}, name="read-only")
    name = _name()
    with _connect(proxy) as read_only:
        try:
            assert isinstance(read_only.networks.list(), list)
            _assert_forbidden(lambda: read_only.networks.create(name, driver="overlay"))
            _assert_forbidden(lambda: read_only.configs.create(name=name, data=b"x"))
            # DELETE has no flag of its own upstream: POST=0 denies it too.
            net = docker_client.networks.create(name, driver="overlay")
            _assert_forbidden(read_only.networks.get(net.id).remove)
            assert docker_client.networks.list(names=[name])
        finally:
            _remove_network(docker_client, name)


def test_upstream_defaults_and_proxy_without_ping(make_socket_proxy: MakeSocketProxy, lab: Lab) -> None:
    defaults = make_socket_proxy({}, name="defaults")
    with _connect(defaults) as client:
        assert client.ping() is True
        assert client.version()["ApiVersion"]
        _assert_forbidden(client.info)
        _assert_forbidden(client.services.list)
    no_ping = make_socket_proxy({"PING": 0}, name="no-ping")  # starts although /_ping answers 403
    with _connect(no_ping, version="1.41") as client:
        _assert_forbidden(client.ping)
        assert client.version()["ApiVersion"]
    assert no_ping.port != defaults.port
    assert {no_ping.folder.parent, defaults.folder.parent} == {lab.root}


# --------------------------------------------------------------------------------------- lifecycle


def test_start_failure_reports_haproxy_output(lab: Lab, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        proxy = SocketProxy(lab.socket_path, tmp_path / "proxy", port=taken.getsockname()[1])
        with pytest.raises(SocketProxyError, match="could not bind") as info:
            proxy.start()
    assert "cannot bind socket" in str(info.value)  # haproxy's own message
    assert not proxy.running


def test_stop_ends_haproxy_and_proxies_run_side_by_side(lab: Lab, tmp_path: Path, socket_proxy: SocketProxy) -> None:
    with SocketProxy(lab.socket_path, tmp_path / "proxy") as proxy:
        pid = proxy.pid
        assert pid is not None and proxy.port != socket_proxy.port
        assert proxy.url == f"tcp://127.0.0.1:{proxy.port}"
        assert proxy.request("GET", "/_ping") == socket_proxy.request("GET", "/_ping") == (200, b"OK")
        assert (tmp_path / "proxy" / "haproxy.pid").read_text().split()[0] == str(pid)
    assert not proxy.running
    assert not Path(f"/proc/{pid}").exists()
    assert "GET /_ping" in (tmp_path / "proxy" / "haproxy.log").read_text()
    proxy.stop()  # idempotent
