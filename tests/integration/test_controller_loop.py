"""The controller's loop against the lab: file changes and Docker events wake it, invalid
revisions change nothing, and it survives the engine going away."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import yaml

from reconciler.runtime.controller import Controller, ControllerConfig
from tests.controller_thread import running
from tests.integration.conftest import Workspace


def write_atomically(path: Path, *documents: dict[str, Any]) -> None:
    """As a Git checkout does: write aside, then rename over the old file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    os.replace(tmp, path)


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.02) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if predicate():
                return time.monotonic() - began
        except Exception:  # the object may not exist yet
            pass
        time.sleep(step)
    raise AssertionError(f"not true within {timeout}s")


def controller(ws: Workspace, resync_s: float = 3600.0) -> AbstractContextManager[Controller]:
    config = ControllerConfig(ws.folder, instance=ws.instance, resync_s=resync_s, dependency_timeout_s=20)
    return running(Controller(config, ws.swarm()))


def labels(ws: Workspace, base: str) -> dict[str, str]:
    found: dict[str, str] = ws.service(base)["Spec"]["Labels"]
    return found


def svc(ws: Workspace, busybox: str, version: int) -> dict[str, Any]:
    return ws.doc("Service", "app", {"image": busybox, "replicas": 0, "labels": {"v": str(version)}})


def test_a_manifest_change_converges_by_itself_and_fast(ws: Workspace, busybox: str) -> None:
    file = ws.folder / "app.yaml"
    write_atomically(file, svc(ws, busybox, 0))
    latencies = []
    with controller(ws) as ctl:
        wait_for(lambda: labels(ws, "app")["v"] == "0", timeout=20)
        wait_for(ctl.ready, timeout=5)
        for version in range(1, 8):
            time.sleep(0.3)  # let the events of the last write pass
            began = time.monotonic()
            write_atomically(file, svc(ws, busybox, version))
            wait_for(lambda v=version: labels(ws, "app")["v"] == str(v), timeout=10)
            latencies.append(time.monotonic() - began)
    print(f"\nwrite → converged in Docker: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms over {len(latencies)} changes")  # fmt: skip
    assert statistics.median(latencies) < 5.0  # generous: the goal (well under a second) is a benchmark's job


def test_drift_is_repaired_by_the_event_path_before_any_resync(ws: Workspace, busybox: str) -> None:
    write_atomically(
        ws.folder / "m.yaml", ws.doc("Network", "net", {"attachable": True}),
        ws.doc("Service", "app", {"image": busybox, "replicas": 0, "labels": {"keep": "me"}}),
    )  # fmt: skip
    with controller(ws, resync_s=3600):
        wait_for(lambda: labels(ws, "app")["keep"] == "me", timeout=20)
        ws.client.api.remove_network(ws.name("net"))
        repaired = wait_for(lambda: ws.client.api.inspect_network(ws.name("net"))["Attachable"], timeout=10)
        live = ws.service("app")
        spec = live["Spec"]
        spec["Labels"].pop("keep")
        ws.client.api.update_service(live["ID"], live["Version"]["Index"], name=spec["Name"], labels=spec["Labels"],
                                     task_template=spec["TaskTemplate"], mode=spec["Mode"])  # fmt: skip
        relabelled = wait_for(lambda: labels(ws, "app").get("keep") == "me", timeout=10)
    print(f"\ndeleted network back in {repaired * 1000:.0f} ms, removed label back in {relabelled * 1000:.0f} ms")


def test_an_invalid_revision_changes_nothing_and_is_reported(ws: Workspace, busybox: str) -> None:
    file = ws.folder / "app.yaml"
    write_atomically(file, svc(ws, busybox, 1))
    with controller(ws) as ctl:
        wait_for(lambda: labels(ws, "app")["v"] == "1", timeout=20)
        good = ctl.status()["revision"]
        bad = svc(ws, busybox, 2)
        bad["spec"]["replicas"] = -1  # invalid: nothing of this revision may be applied, not even v=2
        write_atomically(file, bad, ws.doc("Network", "new", {}))
        wait_for(lambda: ctl.status()["last_error"] is not None, timeout=10)
        status = ctl.status()
        assert status["revision"] == good
        assert status["last_error"]["stage"] == "load"
        assert "spec.replicas" in status["last_error"]["message"]
        time.sleep(0.5)
        assert labels(ws, "app")["v"] == "1"
        assert not ws.client.api.networks(names=[ws.name("new")])

        write_atomically(file, svc(ws, busybox, 3))
        wait_for(lambda: labels(ws, "app")["v"] == "3", timeout=10)
        assert ctl.status()["last_error"] is None and ctl.status()["revision"] != good


def test_losing_the_engine_is_survived_and_it_converges_afterwards(ws: Workspace, busybox: str) -> None:
    file = ws.folder / "app.yaml"
    write_atomically(file, svc(ws, busybox, 1))
    with controller(ws) as ctl:
        wait_for(lambda: labels(ws, "app")["v"] == "1", timeout=20)
        down = ws.lab.restart_daemon(down_s=1.0)
        write_atomically(file, svc(ws, busybox, 2))  # written while the engine came back
        converged = wait_for(lambda: labels(ws, "app")["v"] == "2", timeout=60)
        assert ctl.status()["last_result"]["ok"] is True
    print(f"\nengine unreachable for {down:.1f} s; the change converged {converged:.1f} s after it returned")
