"""Routes and middlewares applied by the reconciler, proved through a real Traefik 3: requests with
the route's Host reach the backend, middlewares act, TLS answers, removal makes the host 404."""

from __future__ import annotations

import subprocess
from typing import Any

from tests.integration.conftest import Workspace
from tests.lab.traefik import TRAEFIK_NETWORK, TraefikHandle

HTTPD = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"


def network() -> dict[str, Any]:
    return {"apiVersion": "reconciler.swarm/v1alpha1", "kind": "Network", "metadata": {"name": TRAEFIK_NETWORK},
            "spec": {"external": True}}  # fmt: skip


def backend(ws: Workspace, busybox: str, replicas: int = 1, **spec: Any) -> dict[str, Any]:
    return ws.doc("Service", "app", {
        "image": busybox, "command": ["/bin/sh", "-c", HTTPD], "replicas": replicas, "networks": [TRAEFIK_NETWORK],
        "hostname": "{{.Service.Name}}.{{.Task.Slot}}", "stopGracePeriod": "1s", **spec,
    })  # fmt: skip


def route(ws: Workspace, host: str, **spec: Any) -> dict[str, Any]:
    return ws.doc("Route", "app", {"service": ws.name("app"), "port": 8080, "hosts": [host], "network": TRAEFIK_NETWORK,
                                   **spec})  # fmt: skip


def apply(ws: Workspace, *docs: dict[str, Any]) -> None:
    ws.write(*docs)
    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 0, result.stdout + result.stderr


def routed(traefik: TraefikHandle, host: str, scheme: str = "http", expect: int = 200) -> str:
    answer = traefik.wait_until(
        lambda: (r := traefik.get(host, scheme=scheme)).status == expect and r, timeout=30, what=f"{host} → {expect}"
    )
    return answer.text


def test_a_route_reaches_its_backend_and_the_router_is_enabled(
    ws: Workspace, busybox: str, traefik: TraefikHandle
) -> None:
    host = f"{ws.prefix}-app.test"
    apply(ws, network(), backend(ws, busybox), route(ws, host, entryPoints=["web"]))
    assert routed(traefik, host).startswith(ws.name("app"))
    router = traefik.wait_for_router(ws.name("app"), timeout=30)
    assert router["status"] == "enabled" and router["rule"] == f"Host(`{host}`)"
    assert traefik.get(f"{ws.prefix}-other.test").status == 404


def test_two_replicas_both_receive_traffic(ws: Workspace, busybox: str, traefik: TraefikHandle) -> None:
    host = f"{ws.prefix}-pair.test"
    apply(ws, network(), backend(ws, busybox, replicas=2), route(ws, host))
    routed(traefik, host)
    traefik.wait_until(lambda: len({traefik.get(host).text for _ in range(10)}) == 2, timeout=30, what="both replicas")
    seen = {traefik.get(host).text.strip() for _ in range(20)}
    assert seen == {f"{ws.name('app')}.1", f"{ws.name('app')}.2"}


def test_hsts_header_and_https_with_tls_true(ws: Workspace, busybox: str, traefik: TraefikHandle) -> None:
    host = f"{ws.prefix}-tls.test"
    hsts = ws.doc(
        "Middleware", "hsts", {"type": "headers", "options": {"stsSeconds": 300, "stsIncludeSubdomains": True}}
    )
    apply(ws, network(), backend(ws, busybox), hsts, route(ws, host, tls=True, entryPoints=["websecure"],
                                                          middlewares=[ws.name("hsts")]))  # fmt: skip
    assert routed(traefik, host, scheme="https").startswith(ws.name("app"))
    answer = traefik.get(host, scheme="https")
    assert answer.headers["Strict-Transport-Security"] == "max-age=300; includeSubDomains"


def test_redirect_scheme_middleware_redirects(ws: Workspace, busybox: str, traefik: TraefikHandle) -> None:
    host = f"{ws.prefix}-redirect.test"
    to_https = ws.doc(
        "Middleware", "to-https", {"type": "redirectScheme", "options": {"scheme": "https", "permanent": True}}
    )
    apply(
        ws,
        network(),
        backend(ws, busybox),
        to_https,
        route(ws, host, entryPoints=["web"], middlewares=[ws.name("to-https")]),
    )
    # Traefik answers a permanent redirect with 301 (GET) or 308, depending on its version.
    answer = traefik.wait_until(
        lambda: (r := traefik.get(host)).status in (301, 308) and r, timeout=30, what="redirect"
    )
    assert answer.headers["Location"] == f"https://{host}/"


def test_removing_the_route_makes_the_host_404_and_removes_exactly_its_labels(
    ws: Workspace, busybox: str, traefik: TraefikHandle
) -> None:
    host = f"{ws.prefix}-gone.test"
    apply(ws, network(), backend(ws, busybox, labels={"team": "web"}), route(ws, host))
    routed(traefik, host)
    before = ws.service("app")["Spec"]["Labels"]
    apply(ws, network(), backend(ws, busybox, labels={"team": "web"}))
    routed(traefik, host, expect=404)
    after = ws.service("app")["Spec"]["Labels"]
    removed = set(before) - set(after)
    assert removed and all(k.startswith("traefik.") for k in removed)
    assert not any(k.startswith("traefik.") for k in after)
    assert after["team"] == "web"


def test_a_route_on_a_service_deployed_by_hand_survives_its_redeploy(
    ws: Workspace, busybox: str, traefik: TraefikHandle
) -> None:
    host = f"{ws.prefix}-stack.test"
    name = ws.name("app")
    subprocess.run(
        ["docker", "service", "create", "--detach", "--name", name, "--network", TRAEFIK_NETWORK, "--label", "owner=ops",
         "--hostname", "{{.Service.Name}}.{{.Task.Slot}}", "--stop-grace-period", "1s", "--no-resolve-image",
         busybox, "/bin/sh", "-c", HTTPD],
        env=ws.lab.env(), check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    apply(ws, network(), route(ws, host))
    routed(traefik, host)
    live = ws.service("app")
    spec = live["Spec"]
    ws.client.api.update_service(live["ID"], live["Version"]["Index"], name=name, labels={"owner": "ops", "v": "2"},
                                 task_template=spec["TaskTemplate"], mode=spec["Mode"])  # fmt: skip
    routed(traefik, host, expect=404)  # the redeploy wiped the route's labels
    apply(ws, network(), route(ws, host))
    routed(traefik, host)
    labels = ws.service("app")["Spec"]["Labels"]
    assert labels["owner"] == "ops" and labels["v"] == "2"
