"""Routes on a service the reconciler does not manage: only the owned label keys change, a
redeploy that wipes them is repaired, removing the route takes exactly its keys away, and no task
restarts for any of it."""

from __future__ import annotations

import subprocess
from typing import Any

from reconciler.core.labels import MANAGED_BY, ROUTE_LABEL_KEYS, ROUTES_MANAGED_BY
from tests.integration.conftest import Workspace

THEIRS = {"com.docker.stack.namespace": "wp", "owner": "ops", "traefik.enable": "true"}


def stack_service(ws: Workspace, busybox: str, labels: dict[str, str] | None = None) -> None:
    """A service as `docker stack deploy` makes it: not ours, with labels of its own."""
    argv = ["docker", "service", "create", "--detach", "--name", ws.name("stack"), "--replicas", "1",
            "--stop-grace-period", "1s", "--no-resolve-image"]  # fmt: skip
    for key, value in (labels or THEIRS).items():
        argv += ["--label", f"{key}={value}"]
    subprocess.run([*argv, busybox, "sleep", "3600"], env=ws.lab.env(), check=True, capture_output=True, timeout=60)


def redeploy(ws: Workspace, labels: dict[str, str]) -> None:
    live = ws.service("stack")
    spec = {**live["Spec"], "Labels": labels}
    ws.client.api.update_service(live["ID"], live["Version"]["Index"], name=spec["Name"], labels=labels,
                                 task_template=spec["TaskTemplate"], mode=spec["Mode"])  # fmt: skip


def routes(ws: Workspace, *hosts: str) -> list[dict[str, Any]]:
    return [
        ws.doc("Middleware", "hsts", {"type": "headers", "options": {"stsSeconds": 300}}),
        ws.doc("Route", "site", {"service": ws.name("stack"), "port": 8080, "hosts": list(hosts), "middlewares": [ws.name("hsts")]}),
    ]  # fmt: skip


def test_only_owned_keys_change_and_removal_takes_exactly_them(ws: Workspace, busybox: str) -> None:
    stack_service(ws, busybox)
    tasks = ws.task_ids("stack")
    ws.write(*routes(ws, "site.test"))
    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 0, result.stdout
    labels = ws.service("stack")["Spec"]["Labels"]
    router = f"traefik.http.routers.{ws.name('site')}"
    assert labels[f"{router}.rule"] == "Host(`site.test`)"
    assert labels[f"traefik.http.middlewares.{ws.name('hsts')}.headers.stsSeconds"] == "300"
    assert {k: labels[k] for k in THEIRS} == THEIRS  # theirs untouched
    assert MANAGED_BY not in labels and labels[ROUTES_MANAGED_BY] == ws.instance
    assert "traefik.enable" not in labels[ROUTE_LABEL_KEYS].split(",")  # it was theirs already
    assert ws.cli("diff", str(ws.folder)).exit_code == 0

    ws.write(*routes(ws, "site.test", "www.site.test"))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.service("stack")["Spec"]["Labels"][f"{router}.rule"] == "Host(`site.test`) || Host(`www.site.test`)"

    ws.write(ws.doc("Network", "unrelated", {}))  # the route and the middleware are gone
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.service("stack")["Spec"]["Labels"] == THEIRS
    assert ws.task_ids("stack") == tasks  # label-only changes: the task never restarted


def test_a_redeploy_that_wipes_the_labels_is_repaired(ws: Workspace, busybox: str) -> None:
    stack_service(ws, busybox)
    ws.write(*routes(ws, "site.test"))
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    redeploy(ws, {**THEIRS, "version": "2"})  # what `docker stack deploy` does with its own labels
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 1 and "route labels" in diff.stdout
    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    labels = ws.service("stack")["Spec"]["Labels"]
    assert labels["version"] == "2" and f"traefik.http.routers.{ws.name('site')}.rule" in labels


def test_a_route_to_a_missing_service_is_blocked_not_an_error(ws: Workspace, busybox: str) -> None:
    ws.write(
        ws.doc("Route", "ghost", {"service": ws.name("nowhere"), "port": 80, "hosts": ["ghost.test"]}),
        ws.doc("Network", "fine", {}),
    )
    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 1
    assert f"the service '{ws.name('nowhere')}' does not exist" in result.stdout
    assert ws.client.api.inspect_network(ws.name("fine"))["Name"] == ws.name("fine")
