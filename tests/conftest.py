"""Shared pytest fixtures, and the collection hook that splits the suite into two layers.

The ``lab`` marker is not written in test files: ``pytest_collection_modifyitems`` below puts it on every
test under ``tests/integration/``, ``tests/e2e/`` and ``tests/multinode/`` and on every test that uses the
``lab`` fixture (directly or through another fixture), so ``pytest -m "not lab"`` is exactly the fast
layer and starts no dockerd. A test that gets the lab without the marker (it asked with
``request.getfixturevalue``, which the hook cannot see) fails: at once if it is the one that would start
the lab, else after it ran (``_lab_marker_guard``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import pytest

from tests.lab import Lab
from tests.lab.engines import DEFAULT_ENGINE, requested_engine
from tests.lab.socket_proxy import RECONCILER_PROXY_SETTINGS, SocketProxy
from tests.lab.traefik import TraefikHandle, run_traefik

if TYPE_CHECKING:
    import docker

# Before any test module imports it: its asserts then report values as a test module's do.
pytest.register_assert_rewrite("tests.unit.validation_helpers")

#: The test folders whose every test runs against a lab dockerd (single- or multi-node).
LAB_FOLDERS = frozenset({"integration", "e2e", "multinode"})
TESTS_ROOT = Path(__file__).resolve().parent

#: The test being run (set around each test's setup, call and teardown), for the ``lab`` fixture's check.
_RUNNING_ITEM = pytest.StashKey["pytest.Item | None"]()


def _needs_lab(item: pytest.Item) -> bool:
    try:
        folder = item.path.resolve().relative_to(TESTS_ROOT).parts[0]
    except (ValueError, IndexError):
        folder = ""
    # fixturenames is the closure: it includes ``lab`` when the test only asks for ``ws`` or ``docker_client``.
    return folder in LAB_FOLDERS or "lab" in getattr(item, "fixturenames", ())


@pytest.hookimpl(tryfirst=True)  # before the -m deselection (another collection_modifyitems hook) reads marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    other_engine = requested_engine() != DEFAULT_ENGINE
    for item in items:
        if _needs_lab(item) and item.get_closest_marker("lab") is None:
            item.add_marker(pytest.mark.lab)
        if other_engine and item.get_closest_marker("engine_agnostic") is not None:
            # scripts/test runs every lab test again on Engine 20.10 for what differs between engines; a
            # browser, an install or the harness itself is proved once, on the default engine (CI time).
            item.add_marker(pytest.mark.skip(reason=f"engine-agnostic: run on Engine {DEFAULT_ENGINE} only"))
    # Tests that start a lab of their own run before the session's lab starts (a stable sort keeps the
    # rest in order): two labs cannot run on one host at once.
    items.sort(key=lambda item: item.get_closest_marker("own_lab") is None)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    item.config.stash[_RUNNING_ITEM] = item
    try:
        return (yield)
    finally:
        item.config.stash[_RUNNING_ITEM] = None


@pytest.fixture(autouse=True)
def _lab_marker_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that got the lab (directly, through another fixture or ``getfixturevalue``) without the
    lab marker. ``lab`` checks only the test that sets it up, since it is session-scoped; this checks each
    test after it ran (``request.fixturenames`` then includes what it asked for on the way)."""
    yield
    if "lab" in request.fixturenames and request.node.get_closest_marker("lab") is None:
        pytest.fail(f"{request.node.nodeid} used the lab dockerd but is not marked lab", pytrace=False)


@pytest.fixture(scope="session")
def lab(pytestconfig: pytest.Config) -> Iterator[Lab]:
    """The isolated lab dockerd with an active single-node swarm (started, or reused if already running).

    Torn down at session end only if this session started it and RECONCILER_LAB_KEEP is not 1. Fails the
    test that first asks for it if that test is not marked ``lab`` (``pytest -m "not lab"`` must start no
    dockerd).
    """
    item = pytestconfig.stash.get(_RUNNING_ITEM, None)
    if item is not None and item.get_closest_marker("lab") is None:
        pytest.fail(
            f"{item.nodeid} uses the lab dockerd but is not marked lab: mark it (pytest.mark.lab), take `lab` "
            "(or a fixture built on it) as an argument, or put it under tests/integration/, e2e/ or multinode/",
            pytrace=False,
        )
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
