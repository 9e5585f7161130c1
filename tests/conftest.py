"""Shared pytest fixtures."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Protocol

import pytest

from tests.lab import Lab
from tests.lab.socket_proxy import RECONCILER_PROXY_SETTINGS, SocketProxy
from tests.lab.traefik import TraefikHandle, run_traefik

if TYPE_CHECKING:
    import docker


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The isolated lab dockerd with an active single-node swarm (started, or reused if already running).

    Torn down at session end only if this session started it and RECONCILER_LAB_KEEP is not 1.
    """
    if os.geteuid() != 0:
        pytest.skip(f"the lab dockerd needs root (running as uid {os.geteuid()})")
    the_lab = Lab().up()
    try:
        yield the_lab
    finally:
        if the_lab.started and os.environ.get("RECONCILER_LAB_KEEP") != "1":
            the_lab.down()


@pytest.fixture(scope="session")
def docker_client(lab: Lab) -> Iterator[docker.DockerClient]:
    """A docker SDK client bound to the lab socket."""
    client = lab.client()
    try:
        yield client
    finally:
        client.close()


#: Numbers the folders of the proxies made by ``make_socket_proxy`` within this test session.
_PROXY_SERIAL = itertools.count(1)


class MakeSocketProxy(Protocol):
    """The ``make_socket_proxy`` fixture: start a proxy with other settings (stopped at teardown)."""

    def __call__(self, settings: Mapping[str, bool | int | str], name: str | None = None) -> SocketProxy: ...


@pytest.fixture(scope="session")
def socket_proxy(lab: Lab) -> Iterator[SocketProxy]:
    """An haproxy on 127.0.0.1 with docker-socket-proxy's rules and the reconciler's settings
    (``RECONCILER_PROXY_SETTINGS``) in front of the lab socket; ``socket_proxy.url`` is its DOCKER_HOST.

    Its files are in ``<lab dir>/proxy-reconciler-<pid>/``.
    """
    proxy = SocketProxy(lab.socket_path, lab.root / f"proxy-reconciler-{os.getpid()}", RECONCILER_PROXY_SETTINGS)
    with proxy:
        yield proxy


@pytest.fixture
def make_socket_proxy(lab: Lab) -> Iterator[MakeSocketProxy]:
    """A factory for more proxies in front of the lab socket, e.g. one without a permission::

        proxy = make_socket_proxy({**RECONCILER_PROXY_SETTINGS, "NETWORKS": 0})

    Settings not given keep docker-socket-proxy's defaults (EVENTS, PING, VERSION on; all else off).
    Each runs on its own free port with its files in ``<lab dir>/proxy-<name>-<pid>-<n>/``; all are
    stopped at teardown.
    """
    started: list[SocketProxy] = []

    def make(settings: Mapping[str, bool | int | str], name: str | None = None) -> SocketProxy:
        folder = lab.root / f"proxy-{name or 'custom'}-{os.getpid()}-{next(_PROXY_SERIAL)}"
        proxy = SocketProxy(lab.socket_path, folder, settings)
        started.append(proxy)
        return proxy.start()

    try:
        yield make
    finally:
        for proxy in reversed(started):
            proxy.stop()


@pytest.fixture(scope="session")
def traefik(lab: Lab, docker_client: docker.DockerClient) -> Iterator[TraefikHandle]:
    """A real Traefik v3 (``lab/traefik:3``, built here once) as a Swarm service on the attachable overlay
    network ``lab-web`` (created unless present), reading service labels through a read-only socket proxy
    on the ``docker_gwbridge`` gateway. Its ``web``, ``websecure`` and API ports are free host ports
    (``traefik.ports``); ``traefik.get(host, path, scheme)`` sends a request with that ``Host`` (and SNI).

    Yielded once ``/ping`` answers and the swarm provider has listed the services once. Traefik, the proxy
    and (if this session created it) the network are removed at session end; the lab stays.
    See ``tests/lab/traefik.py``.
    """
    with run_traefik(lab, docker_client) as handle:
        yield handle
