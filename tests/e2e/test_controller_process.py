"""`reconciler run` as a process, as users run it: two replicas elect one leader, hand over on
SIGKILL and SIGTERM, follow a Git repository with a signed webhook, and serve status and metrics."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from tests.integration.conftest import Workspace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# The replicas' election timing. The lease is long enough that a SIGTERM handover (a release: the next
# replica takes over at its next retry) and a lapsed lease (at least LEASE - RETRY after the last
# renewal) stay apart by more than the old process's exit, thread wake-ups and status polling take on
# a busy machine; with a 3 s lease the two overlapped (a slow exit alone read as a missing release).
LEASE, RENEW, RETRY = 5.0, 3.0, 0.5
WAKE_SLOP = 0.5  # a write's latency, the elector threads' wake-up and this test's status polling


class Replica:
    def __init__(self, ws: Workspace, name: str, *extra: str) -> None:
        self.name = name
        self.port = free_port()
        self.log = ws.folder.parent / f"{name}.log"
        argv = [sys.executable, "-m", "reconciler", "--docker-host", ws.lab.base_url, "--instance", ws.instance, "run",
                "--listen", f"127.0.0.1:{self.port}", "--identity", name, "--lease", str(LEASE),
                "--renew-deadline", str(RENEW), "--retry", str(RETRY), "--resync", "30", *extra]  # fmt: skip
        self.proc = subprocess.Popen(argv, stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=2) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> int:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", data=body, headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as exc:
            return int(exc.code)

    def status(self) -> dict[str, Any]:
        code, body = self.get("/status")
        assert code == 200, body
        found: dict[str, Any] = json.loads(body)
        return found

    def leading(self) -> bool:
        try:
            return bool(self.status()["leader"])
        except (OSError, AssertionError):
            return False

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        try:
            if predicate():
                return time.monotonic() - began
        except Exception:  # not up yet
            pass
        time.sleep(step)
    raise AssertionError(f"not true within {timeout}s")


@contextmanager
def replicas(ws: Workspace, *names: str, extra: tuple[str, ...] = ()) -> Iterator[list[Replica]]:
    started = [Replica(ws, name, *extra) for name in names]
    try:
        yield started
    finally:
        for replica in started:
            try:
                replica.stop(signal.SIGKILL if replica.proc.poll() is None else signal.SIGTERM)
            except subprocess.TimeoutExpired:
                replica.proc.kill()


def app(ws: Workspace, busybox: str, version: int) -> dict[str, Any]:
    return ws.doc("Service", "app", {"image": busybox, "replicas": 0, "labels": {"v": str(version)}})


def label(ws: Workspace) -> str | None:
    try:
        return str(ws.service("app")["Spec"]["Labels"]["v"])
    except Exception:
        return None


def test_two_replicas_one_leader_and_handover_on_kill_and_term(ws: Workspace, busybox: str) -> None:
    ws.write(app(ws, busybox, 1))
    with replicas(ws, "one", "two", extra=("--manifests", str(ws.folder))) as (one, two):
        wait_for(lambda: label(ws) == "1", timeout=30)
        wait_for(lambda: one.leading() != two.leading(), timeout=10)
        for _ in range(20):  # never both
            assert not (one.leading() and two.leading())
            time.sleep(0.05)
        leader, follower = (one, two) if one.leading() else (two, one)
        assert b"reconciler_leader 1.0" in leader.get("/metrics")[1]
        assert b"reconciler_leader 0.0" in follower.get("/metrics")[1]
        assert follower.status()["leader_identity"] == leader.name

        began = time.monotonic()
        leader.stop(signal.SIGKILL)
        wait_for(follower.leading, timeout=10)
        killed = time.monotonic() - began
        ws.write(app(ws, busybox, 2))
        wait_for(lambda: label(ws) == "2", timeout=15)  # the new leader writes

        third = Replica(ws, "three", "--manifests", str(ws.folder))
        try:
            wait_for(lambda: third.status()["leader_identity"] == follower.name, timeout=15)
            began = time.monotonic()
            assert follower.stop(signal.SIGTERM, timeout=10) == 0
            stopped = time.monotonic() - began
            wait_for(third.leading, timeout=10)
            termed = time.monotonic() - began
        finally:
            third.stop(signal.SIGKILL)
    print(f"\nhandover after SIGKILL: {killed:.1f} s (bound: lease {LEASE} s + retry {RETRY} s); after SIGTERM: "
          f"{termed:.1f} s (the old leader exited in {stopped:.1f} s)")  # fmt: skip
    assert LEASE - RETRY - WAKE_SLOP <= killed < LEASE + RETRY + 2.0  # lease + one retry, plus slack for a busy machine
    # Released: well before a lapsed lease could be taken (LEASE - RETRY after the SIGTERM at the earliest).
    assert termed < LEASE - RETRY - WAKE_SLOP


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


def test_git_push_and_a_signed_webhook_converge_and_a_bad_signature_is_refused(
    ws: Workspace, busybox: str, tmp_path: Path
) -> None:
    bare, work = tmp_path / "repo.git", tmp_path / "work"
    git("init", "--bare", "-b", "main", str(bare), cwd=tmp_path)
    git("clone", str(bare), str(work), cwd=tmp_path)
    (work / "manifests").mkdir()

    def commit(version: int) -> str:
        (work / "manifests" / "app.yaml").write_text(yaml.safe_dump(app(ws, busybox, version)))
        git("add", "-A", cwd=work)
        git("commit", "-m", f"v{version}", cwd=work)
        git("push", "origin", "HEAD:main", cwd=work)
        return git("rev-parse", "HEAD", cwd=work)

    first = commit(1)
    secret = tmp_path / "secret"
    secret.write_text("s3cret-hook\n")
    extra = ("--git-url", f"file://{bare}", "--git-ref", "main", "--git-interval", "3600", "--git-dir", str(tmp_path / "sync"),
             "--manifests", "manifests", "--webhook-secret-file", str(secret), "--no-leader-election")  # fmt: skip
    with replicas(ws, "git", extra=extra) as (replica,):
        wait_for(lambda: label(ws) == "1", timeout=30)
        assert replica.status()["git"]["revision"] == first
        second = commit(2)
        body = json.dumps({"ref": "refs/heads/main", "after": second}).encode()
        bad = "sha256=" + hmac.new(b"wrong", body, hashlib.sha256).hexdigest()
        assert replica.post("/hooks/git", body, {"X-Hub-Signature-256": bad}) == 401
        assert replica.post("/hooks/git", body, {}) == 401
        time.sleep(1.0)
        assert label(ws) == "1"  # the refused calls triggered nothing (the poll interval is an hour)
        good = "sha256=" + hmac.new(b"s3cret-hook", body, hashlib.sha256).hexdigest()
        began = time.monotonic()
        assert replica.post("/hooks/git", body, {"X-Hub-Signature-256": good}) == 202
        took = wait_for(lambda: label(ws) == "2", timeout=20)
        wait_for(lambda: replica.status()["git"]["revision"] == second, timeout=5)
        code, metrics = replica.get("/metrics")
        assert code == 200 and f'reconciler_revision_info{{revision="{second}"}} 1.0'.encode() in metrics
    print(f"\nsigned webhook → converged in {took * 1000:.0f} ms ({time.monotonic() - began:.1f} s with the checks)")


def test_status_reads_a_running_controller(ws: Workspace, busybox: str) -> None:
    ws.write(app(ws, busybox, 1))
    with replicas(ws, "solo", extra=("--manifests", str(ws.folder), "--no-leader-election")) as (solo,):
        wait_for(lambda: label(ws) == "1", timeout=30)
        wait_for(lambda: solo.get("/readyz")[0] == 200, timeout=10)
        assert solo.get("/healthz")[0] == 200
        # Right after its first write the controller says Progressing; it looks again within seconds.
        wait_for(lambda: ws.cli("status", "--controller", f"http://127.0.0.1:{solo.port}").exit_code == 0, timeout=15)
        out = ws.cli("-o", "json", "status", "--controller", f"http://127.0.0.1:{solo.port}")
        assert out.exit_code == 0, out.stdout
        report = json.loads(out.stdout)
        assert report["in_sync"] is True and report["identity"] == "solo"
        assert {o["key"]: o["state"] for o in report["objects"]} == {f"Service/{ws.name('app')}": "in sync"}
        assert solo.stop(signal.SIGTERM) == 0
    lines = [json.loads(line) for line in solo.log.read_text().splitlines() if line.startswith("{")]
    assert lines and all({"time", "level", "message", "revision", "object"} <= set(line) for line in lines)
