"""Smoke test of the lab's Traefik, without the reconciler: a hand-made backend service with hand-written
Traefik labels on its ``Spec.Labels`` must be routed by Host, over http and https, and balanced over replicas.
"""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import docker
import pytest

from tests.lab import Lab
from tests.lab.images import ensure_busybox_image
from tests.lab.traefik import TRAEFIK_NETWORK, Response, TraefikHandle

#: Serves its own hostname (``<service>.<slot>``, from the hostname template) on :8080.
HTTPD = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"

MakeBackend = Callable[..., str]


@pytest.fixture(scope="module")
def busybox(lab: Lab) -> str:
    return ensure_busybox_image(lab.env())


@pytest.fixture
def backend(docker_client: docker.DockerClient, busybox: str, traefik: TraefikHandle) -> Iterator[MakeBackend]:
    """Create busybox httpd services on ``lab-web`` with the given service labels; all removed afterwards."""
    created: list[str] = []

    def make(labels: dict[str, str], replicas: int = 1) -> str:
        name = f"e2e-smoke-{secrets.token_hex(3)}"
        spec = docker.types.ContainerSpec(
            busybox,
            command=["/bin/sh", "-c", HTTPD],
            hostname="{{.Service.Name}}.{{.Task.Slot}}",
            stop_grace_period=10**9,  # httpd as PID 1 ignores SIGTERM: SIGKILL after 1 s, not 10
        )
        template = docker.types.TaskTemplate(
            spec,
            networks=[{"Target": TRAEFIK_NETWORK}],
            restart_policy=docker.types.RestartPolicy(condition="on-failure", max_attempts=3),
        )
        service = docker_client.api.create_service(
            template, name=name, labels=labels, mode=docker.types.ServiceMode("replicated", replicas=replicas)
        )
        created.append(service["ID"])
        return name

    try:
        yield make
    finally:
        for service_id in created:
            with contextlib.suppress(docker.errors.NotFound):
                docker_client.api.remove_service(service_id)
        deadline = time.monotonic() + 30  # until no task runs (Traefik then lists none of them)
        while time.monotonic() < deadline and any(
            docker_client.api.containers(filters={"label": f"com.docker.swarm.service.id={sid}"}) for sid in created
        ):
            time.sleep(0.1)


def route_labels(router: str, host: str, *, tls_router: str | None = None) -> dict[str, str]:
    """Traefik v3 labels, written by hand: ``router`` on ``web`` (and ``tls_router`` on ``websecure``)."""
    labels = {
        "traefik.enable": "true",
        f"traefik.http.routers.{router}.rule": f"Host(`{host}`)",
        f"traefik.http.routers.{router}.entrypoints": "web",
        f"traefik.http.routers.{router}.service": router,
        f"traefik.http.services.{router}.loadbalancer.server.port": "8080",
        "traefik.swarm.network": TRAEFIK_NETWORK,
    }
    if tls_router:
        labels |= {
            f"traefik.http.routers.{tls_router}.rule": f"Host(`{host}`)",
            f"traefik.http.routers.{tls_router}.entrypoints": "websecure",
            f"traefik.http.routers.{tls_router}.tls": "true",
            f"traefik.http.routers.{tls_router}.service": router,
        }
    return labels


def servers(traefik: TraefikHandle, service: str) -> list[str]:
    """Backend URLs of Traefik's HTTP service ``service@swarm``."""
    found: dict[str, Any] = next((s for s in traefik.services() if s.get("name") == f"{service}@swarm"), {})
    return [server["url"] for server in (found.get("loadBalancer") or {}).get("servers") or []]


def answer_200(traefik: TraefikHandle, host: str, scheme: str = "http") -> Callable[[], Response | None]:
    """A ``wait_until`` predicate: the answer to ``GET scheme://host/`` once it is a 200."""

    def probe() -> Response | None:
        answer = traefik.get(host, scheme=scheme)
        return answer if answer.status == 200 else None

    return probe


def test_traefik_is_the_pinned_version(traefik: TraefikHandle) -> None:
    assert traefik.version() == "3.7.15"
    assert traefik.api("/ping") == "OK"


def test_host_rule_routes_to_the_backend(traefik: TraefikHandle, backend: MakeBackend) -> None:
    name = backend(route_labels("smoke", "smoke.test", tls_router="smoke-tls"))

    router = traefik.wait_for_router("smoke", timeout=30)
    assert router["name"] == "smoke@swarm"
    assert router["status"] == "enabled"
    assert router["provider"] == "swarm"
    assert router["rule"] == "Host(`smoke.test`)"
    assert router["entryPoints"] == ["web"]
    assert router["service"] == "smoke"
    enabled = {r["name"]: r["status"] for r in traefik.routers()}
    assert enabled.get("smoke@swarm") == "enabled"
    assert enabled.get("smoke-tls@swarm") == "enabled"

    status, headers, body = traefik.wait_until(
        answer_200(traefik, "smoke.test"), timeout=30, what="GET http://smoke.test/ routed"
    )
    assert status == 200
    assert body.decode().strip() == f"{name}.1"
    assert headers["Content-Type"].startswith("text/html")

    secure = traefik.wait_until(
        answer_200(traefik, "smoke.test", "https"), timeout=30, what="GET https://smoke.test/ routed"
    )
    assert secure.body.decode().strip() == f"{name}.1"

    # No router claims another host, on either entry point: Traefik's own 404.
    missing = traefik.get("unknown.test")
    assert missing.status == 404
    assert missing.text.strip() == "404 page not found"
    assert traefik.get("unknown.test", scheme="https").status == 404


def test_two_replicas_both_get_traffic(traefik: TraefikHandle, backend: MakeBackend) -> None:
    name = backend(route_labels("smoke-rr", "rr.smoke.test"), replicas=2)

    traefik.wait_for_router("smoke-rr", timeout=30)
    urls = traefik.wait_until(
        lambda: found if len(found := servers(traefik, "smoke-rr")) == 2 else None, timeout=30, what="two servers"
    )
    assert all(url.startswith("http://") and url.endswith(":8080") for url in urls)

    seen: list[str] = []
    for _ in range(20):
        answer = traefik.get("rr.smoke.test")
        assert answer.status == 200, answer
        seen.append(answer.text.strip())
    assert set(seen) == {f"{name}.1", f"{name}.2"}
