"""The reconciler through a docker-socket-proxy: everything works with the SPEC's permissions; a missing
permission is named by ``doctor`` and by the failing command, never shown as a traceback."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import pytest

from reconciler.core.labels import MANAGED_BY
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.metrics import Metrics
from tests.controller_thread import running
from tests.integration.conftest import Cli, Workspace
from tests.lab.socket_proxy import RECONCILER_PROXY_SETTINGS, SocketProxy

if TYPE_CHECKING:
    from tests.conftest import MakeSocketProxy


UNREACHABLE = "tcp://127.0.0.1:1"


def manifests(ws: Workspace, busybox: str) -> list[dict[str, Any]]:
    (ws.folder / "pw.txt").write_text("pw\n")
    return [
        ws.doc("Network", "net", {}),
        ws.doc("Secret", "pw", {"file": "pw.txt"}),
        ws.doc("Service", "web", {"image": busybox, "replicas": 0, "networks": [ws.name("net")], "secrets": [{"name": ws.name("pw")}]}),
    ]  # fmt: skip


def without(setting: str) -> dict[str, int]:
    return {**RECONCILER_PROXY_SETTINGS, setting: 0}


def no_traceback(*results: Cli) -> None:
    for result in results:
        assert "Traceback" not in result.stdout + result.stderr
        assert "internal error" not in result.stdout + result.stderr


def doctor_json(ws: Workspace, docker_host: str) -> tuple[int, dict[str, Any]]:
    out = ws.cli("-o", "json", "doctor", docker_host=docker_host)
    no_traceback(out)
    return out.exit_code, json.loads(out.stdout)


def nothing_created(ws: Workspace) -> None:
    label = {"label": f"{MANAGED_BY}={ws.instance}"}
    api = ws.client.api
    assert api.services(filters=label) == []
    assert api.networks(filters=label) == []
    assert api.secrets(filters=label) == []


# ---------------------------------------------------------------------------------- full permissions


def test_doctor_passes_through_the_reconcilers_proxy(ws: Workspace, socket_proxy: SocketProxy) -> None:
    text = ws.cli("doctor", docker_host=socket_proxy.url)
    assert text.exit_code == 0, text.stdout
    assert "all checks passed" in text.stdout and "FAIL" not in text.stdout
    code, report = doctor_json(ws, socket_proxy.url)
    assert code == 0 and report["ok"] is True
    names = {c["name"] for c in report["checks"]}
    assert {
        "engine reachable",
        "API version",
        "swarm active",
        "node is a manager",
        "GET /secrets",
        "GET /events",
    } <= names
    assert {"POST /services/{id}/update", "DELETE /networks/{id}", "DELETE /volumes/{id}"} <= names
    assert all(c["ok"] for c in report["checks"])


def test_apply_and_diff_work_end_to_end_through_the_proxy(
    ws: Workspace, busybox: str, socket_proxy: SocketProxy
) -> None:
    ws.write(*manifests(ws, busybox))
    before = ws.cli("diff", str(ws.folder), docker_host=socket_proxy.url)
    assert before.exit_code == 1 and before.stdout.count("create") >= 3
    applied = ws.cli("apply", "--yes", str(ws.folder), docker_host=socket_proxy.url)
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert ws.service("web")["Spec"]["Labels"][MANAGED_BY] == ws.instance
    assert ws.client.api.inspect_network(ws.name("net"))["Labels"][MANAGED_BY] == ws.instance
    after = ws.cli("diff", str(ws.folder), docker_host=socket_proxy.url)
    assert after.exit_code == 0, after.stdout
    assert ws.cli("status", str(ws.folder), docker_host=socket_proxy.url).exit_code == 0
    # and pruning (DELETE through the proxy)
    ws.write(ws.doc("Network", "net", {}))
    pruned = ws.cli("apply", "--yes", "--prune", str(ws.folder), docker_host=socket_proxy.url)
    assert pruned.exit_code == 0, pruned.stdout + pruned.stderr
    assert ws.client.api.services(filters={"name": ws.name("web")}) == []


# ------------------------------------------------------------------------------- missing permissions


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ("SECRETS", "SECRETS=1"),
        ("NETWORKS", "NETWORKS=1"),
        ("POST", "POST=1"),
        ("TASKS", "TASKS=1"),
        ("VOLUMES", "VOLUMES=1"),
        ("NODES", "NODES=1"),
        ("INFO", "INFO=1"),
        ("EVENTS", "EVENTS=1"),
        ("PING", "PING=1"),
        ("VERSION", "VERSION=1"),
    ],
)
def test_doctor_names_the_missing_setting(
    ws: Workspace, make_socket_proxy: MakeSocketProxy, missing: str, named: str
) -> None:
    proxy = make_socket_proxy(without(missing), name=f"no-{missing.lower()}")
    text = ws.cli("doctor", docker_host=proxy.url)
    no_traceback(text)
    assert text.exit_code == 1
    assert "some checks failed" in text.stdout
    failed = [line for line in text.stdout.splitlines() if line.startswith("FAIL")]
    assert failed and all(named in line for line in failed), failed
    assert "the socket proxy" in text.stdout

    code, report = doctor_json(ws, proxy.url)
    assert code == 1 and report["ok"] is False
    bad = [c for c in report["checks"] if not c["ok"]]
    assert bad and all(named in c["detail"] for c in bad)
    # Without PING the first check fails and doctor stops there; otherwise the engine answers.
    assert next(c for c in report["checks"] if c["name"] == "engine reachable")["ok"] is (missing != "PING")


@pytest.mark.parametrize(
    "missing",
    # Not PING: these commands ask the API version (VERSION), then read; a ping between would ask
    # nothing more (issue 18). The controller pings when it starts, and doctor names PING (above).
    ["SECRETS", "NETWORKS", "SERVICES", "CONFIGS", "NODES", "VERSION"],
)
def test_apply_and_diff_stop_with_exit_2_when_the_snapshot_is_refused(
    ws: Workspace, busybox: str, make_socket_proxy: MakeSocketProxy, missing: str
) -> None:
    proxy = make_socket_proxy(without(missing), name=f"no-{missing.lower()}")
    ws.write(*manifests(ws, busybox))
    for command in (("diff",), ("apply", "--yes"), ("status",)):
        out = ws.cli(*command, str(ws.folder), docker_host=proxy.url)
        no_traceback(out)
        assert out.exit_code == 2, (command, out.stdout, out.stderr)
        assert "refused (403)" in out.stderr and f"the socket proxy needs {missing}=1" in out.stderr, out.stderr
    nothing_created(ws)


def test_apply_without_post_fails_each_change_and_names_post(
    ws: Workspace, busybox: str, make_socket_proxy: MakeSocketProxy
) -> None:
    proxy = make_socket_proxy(without("POST"), name="no-post")
    ws.write(*manifests(ws, busybox))
    diff = ws.cli("diff", str(ws.folder), docker_host=proxy.url)  # reading needs no POST
    assert diff.exit_code == 1 and "create" in diff.stdout

    out = ws.cli("-o", "json", "apply", "--yes", str(ws.folder), docker_host=proxy.url)
    no_traceback(out)
    assert out.exit_code == 1, out.stderr
    result = json.loads(out.stdout)
    by_key = {o["key"]: o for o in result["outcomes"]}
    assert by_key[f"Network/{ws.name('net')}"]["status"] == "failed"
    assert "NETWORKS=1 and POST=1" in by_key[f"Network/{ws.name('net')}"]["message"]
    # The secret's name is keyed by the instance's name key, a config made first: that fails, and
    # the secret waits for it.
    key = by_key[f"NameKey/{ws.instance}"]
    assert key["status"] == "failed" and "CONFIGS=1 and POST=1" in key["message"]
    assert by_key[f"Secret/{ws.name('pw')}"]["status"] == "skipped"
    web = by_key[f"Service/{ws.name('web')}"]
    assert web["status"] == "skipped" and "did not converge" in web["message"]  # its network failed

    text = ws.cli("apply", "--yes", str(ws.folder), docker_host=proxy.url)
    no_traceback(text)
    assert text.exit_code == 1 and "POST=1" in text.stdout
    nothing_created(ws)


# ---------------------------------------------------------------------------------- no engine at all


def test_an_unreachable_docker_host_is_a_clear_error(ws: Workspace, busybox: str) -> None:
    ws.write(*manifests(ws, busybox))
    diff = ws.cli("diff", str(ws.folder), docker_host=UNREACHABLE)
    apply = ws.cli("apply", "--yes", str(ws.folder), docker_host=UNREACHABLE)
    status = ws.cli("status", str(ws.folder), docker_host=UNREACHABLE)
    doctor = ws.cli("doctor", docker_host=UNREACHABLE)
    no_traceback(diff, apply, status, doctor)
    assert (diff.exit_code, apply.exit_code, status.exit_code, doctor.exit_code) == (2, 2, 2, 1)
    for out in (diff, apply, status):
        assert "nothing answers at tcp://127.0.0.1:1 (connection refused): start the engine" in out.stderr, out.stderr
        assert "urllib3" not in out.stderr and "HTTPConnectionPool" not in out.stderr
    assert "FAIL" in doctor.stdout and "engine reachable" in doctor.stdout and "127.0.0.1:1" in doctor.stdout
    code, report = doctor_json(ws, UNREACHABLE)
    assert code == 1 and report["ok"] is False
    assert report["checks"][0]["name"] == "engine reachable" and report["checks"][0]["ok"] is False
    nothing_created(ws)


# ---------------------------------------------------------------------------------- the controller


def test_the_controller_stops_on_a_missing_permission_without_a_retry_storm(
    ws: Workspace, busybox: str, make_socket_proxy: MakeSocketProxy
) -> None:
    """A proxy without SECRETS=1: the controller's pass ends terminal, ``/status`` names the setting,
    and no retry follows (the requests stay constant) until something changes."""
    ws.write(*manifests(ws, busybox))
    proxy = make_socket_proxy(without("SECRETS"), name="no-secrets")
    swarm = ws.swarm(proxy.url)
    metrics = Metrics()
    ctl = Controller(ControllerConfig(ws.folder, instance=ws.instance, resync_s=3600, watch=False, events=False),
                     swarm, metrics=metrics)  # fmt: skip
    with running(ctl):
        deadline = time.monotonic() + 20
        while ctl.status()["terminal"] is None and time.monotonic() < deadline:
            time.sleep(0.05)
        terminal = ctl.status()["terminal"]
        assert terminal is not None, ctl.status()
        assert any("SECRETS=1" in reason for reason in terminal["reasons"]), terminal
        settled = swarm.requests
        time.sleep(3.0)  # a backoff retry would come within 0.5-2 s
        assert swarm.requests == settled
        assert b"reconciler_terminal 1.0" in metrics.render()
    nothing_created(ws)
