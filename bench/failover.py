"""6. Leader failover: two ``reconciler run`` processes with short lease settings (``--lease 3
--renew-deadline 2 --retry 0.5``), as ``tests/e2e/test_controller_process.py`` runs them; a few rounds.

Per round: SIGKILL the leader and time until the follower's ``/status`` says it leads (polled every
20 ms), and until a manifest change written at the moment of the kill is converged by it; then start a
third replica, SIGTERM the leader (which releases its lease) and time until the third leads.
There is no Docker-side equivalent to compare with: the reference is the bound the lease settings give
(SIGKILL: lease 3 s + one retry 0.5 s; SIGTERM: one retry, 0.5 s), not a measurement.

VIP failover (keepalived moving a floating IP between nodes) needs several nodes: when
``tests/multinode/test_vip_failover.py`` exists (and no other pytest run may be using the three-node lab),
its failover test is run once with pytest and the figures it prints are reported (not in ``--quick``);
otherwise the row says why it is not measured.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import INSTANCE, Context, Row, doc, summary, wait_for, write_atomically
from bench.memory import _free_port

SERVICE = "bench-failover"
LEASE, RENEW, RETRY = 3.0, 2.0, 0.5
REPO = Path(__file__).resolve().parent.parent
VIP_TEST = REPO / "tests" / "multinode" / "test_vip_failover.py"
VIP_TIMEOUT_S = 420
_VIP_LINE = re.compile(r"failover: graceful ([\d.]+) s, SIGKILL ([\d.]+) s \(VRRP bound ([\d.]+) s\)")


class Replica:
    def __init__(self, ctx: Context, folder: Path, name: str) -> None:
        self.name = name
        self.port = _free_port()
        self.log = ctx.workdir / f"failover-{name}.log"
        argv = [sys.executable, "-m", "reconciler", "--docker-host", ctx.base_url, "--instance", INSTANCE, "run",
                "--manifests", str(folder), "--listen", f"127.0.0.1:{self.port}", "--identity", name,
                "--lease", str(LEASE), "--renew-deadline", str(RENEW), "--retry", str(RETRY), "--resync", "30",
                "--log-level", "warning"]  # fmt: skip
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def status(self) -> dict[str, Any] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/status", timeout=1) as answer:
                found: dict[str, Any] = json.loads(answer.read())
                return found
        except (OSError, ValueError):
            return None

    def leading(self) -> bool:
        return bool((self.status() or {}).get("leader"))

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> int | None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            return None


def _multinode_in_use() -> list[int]:
    """Other pytest processes that run (or may run) tests/multinode: the VIP test uses fixed names and a
    fixed address, so two runs at once would break each other."""
    busy = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if not any("pytest" in a for a in argv):
            continue
        paths = [a for a in argv if a.startswith("tests")]
        if not paths or any("multinode" in a for a in paths):
            busy.append(int(entry.name))
    return busy


def vip_failover(ctx: Context) -> tuple[dict[str, float] | None, str]:
    """Keepalived VIP failover on the three-node lab, timed by ``tests/multinode/test_vip_failover.py``
    (run with pytest, one round: graceful stop, then SIGKILL, of the holder's keepalived). Returns its
    figures (seconds) or None, and what was done."""
    if not (REPO / "tests" / "multinode").is_dir():
        return None, "not measured yet: needs the multi-node lab (tests/multinode does not exist yet)"
    if not VIP_TEST.exists():
        return None, "not measured yet: tests/multinode exists but has no VIP failover test yet"
    if ctx.quick:
        return None, "not measured in --quick (the three-node lab takes minutes): run without --quick"
    busy = _multinode_in_use()
    if busy:
        return None, f"not measured: another pytest run may be using the multi-node lab (pids {busy})"
    argv = [sys.executable, "-m", "pytest", str(VIP_TEST.relative_to(REPO)), "-k", "failover_graceful_and_hard",
            "-s", "-q", "-p", "no:cacheprovider"]  # fmt: skip
    began = time.monotonic()
    try:
        # RECONCILER_LAB_KEEP=1: never tear a lab down here (someone else may be using it by then).
        done = subprocess.run(argv, cwd=REPO, env={**os.environ, "RECONCILER_LAB_KEEP": "1"}, capture_output=True,
                              text=True, timeout=VIP_TIMEOUT_S, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        return None, f"not measured: the VIP failover test took over {VIP_TIMEOUT_S} s"
    took = time.monotonic() - began
    found = _VIP_LINE.search(done.stdout)
    if found is None:
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or ["no output"]
        return None, f"not measured: the VIP failover test did not report (exit {done.returncode}): {tail[0][:200]}"
    graceful, hard, bound = (float(x) for x in found.groups())
    return (
        {"graceful_s": graceful, "sigkill_s": hard, "vrrp_bound_s": bound, "pytest_s": took, "exit": done.returncode},
        f"from {VIP_TEST.relative_to(REPO)} (one round, {took:.0f} s with the lab and image setup)",
    )


def _app(ctx: Context, version: str) -> dict[str, Any]:
    return doc("Service", SERVICE, {"image": ctx.busybox, "replicas": 0, "labels": {"bench.version": version}})


def run(ctx: Context) -> list[Row]:
    rounds = 1 if ctx.quick else 5
    folder = ctx.folder("failover")
    file = folder / "app.yaml"
    hand = ctx.swarm()

    def label() -> str:
        return str(hand.get(f"/services/{SERVICE}")["Spec"]["Labels"]["bench.version"])

    killed: list[float] = []
    converged: list[float] = []
    termed: list[float] = []
    exited: list[float] = []
    problems: list[str] = []
    for round_ in range(rounds):
        write_atomically(file, _app(ctx, f"r{round_}"))
        started = [Replica(ctx, folder, f"bench-one-{round_}"), Replica(ctx, folder, f"bench-two-{round_}")]
        try:
            one, two = started
            # A lease left by the previous round was released on SIGTERM: a leader comes at once.
            first = wait_for(lambda r=round_: label() == f"r{r}", timeout=30, step=0.05)  # type: ignore[misc]
            single = wait_for(lambda a=one, b=two: a.leading() != b.leading(), timeout=15, step=0.05)  # type: ignore[misc]
            if first is None or single is None:
                problems.append(f"round {round_}: no single leader within 45 s")
                continue
            leader, follower = (one, two) if one.leading() else (two, one)
            began = time.perf_counter()
            leader.stop(signal.SIGKILL)
            write_atomically(file, _app(ctx, f"k{round_}"))
            took = wait_for(follower.leading, timeout=15, step=0.02)
            done = wait_for(lambda r=round_: label() == f"k{r}", timeout=20, step=0.02)  # type: ignore[misc]
            if took is None or done is None:
                problems.append(f"round {round_}: the follower did not take over after SIGKILL")
                continue
            killed.append(took)
            converged.append(time.perf_counter() - began)

            third = Replica(ctx, folder, f"bench-three-{round_}")
            started.append(third)
            sees = wait_for(lambda f=follower, t=third: (t.status() or {}).get("leader_identity") == f.name, 20, 0.05)  # type: ignore[misc]
            if sees is None:
                problems.append(f"round {round_}: the third replica never saw the leader")
                continue
            began = time.perf_counter()
            follower.proc.send_signal(signal.SIGTERM)  # once: a second one during interpreter exit would kill it
            took = wait_for(third.leading, timeout=15, step=0.02)
            try:
                code: int | None = follower.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                code = None
            if took is None:
                problems.append(f"round {round_}: the third replica did not take over after SIGTERM")
                continue
            termed.append(took)
            exited.append(time.perf_counter() - began)
            if code != 0:
                problems.append(f"round {round_}: the SIGTERMed leader exited with {code} (None: not within 10 s)")
        finally:
            for replica in reversed(started):  # SIGTERM: the leader releases the lease for the next round
                replica.stop(signal.SIGTERM)
    hand.close()

    kill, conv, term = summary(killed), summary(converged), summary(termed)
    vip, vip_note = vip_failover(ctx)
    ctx.details["failover"] = {
        "rounds": rounds, "lease_s": LEASE, "renew_deadline_s": RENEW, "retry_s": RETRY,
        "sigkill_to_new_leader_s": kill, "sigkill_to_change_converged_s": conv, "sigterm_to_new_leader_s": term,
        "sigterm_old_leader_exit_s": summary(exited), "problems": problems,
        "vip_failover": {"figures": vip, "note": vip_note},
    }  # fmt: skip
    note = "; ".join(problems)
    section = "K leader failover"
    rows = [
        Row(section, f"SIGKILL → new leader, p50 of {kill['n']}", kill["p50"], "s", LEASE + RETRY,
            "bound: lease 3 s + retry 0.5 s (configured, not measured)", note=note),
        Row(section, "SIGKILL → change converged by new leader", conv["p50"], "s", LEASE + RETRY,
            "bound: lease 3 s + retry 0.5 s (configured, not measured)",
            note=f"max {conv['max']:.2f} s" if conv["max"] else ""),
        Row(section, f"SIGTERM → new leader, p50 of {term['n']}", term["p50"], "s", RETRY,
            "bound: one retry, 0.5 s (configured, not measured)",
            note=f"old leader exited after {summary(exited)['p50'] or 0:.2f} s (p50)"),
    ]  # fmt: skip
    if vip is None:
        rows.append(Row("K VIP failover", "keepalived VIP moves to another node", None, "s", note=vip_note))
    else:
        bound = "VRRP bound: 3 × advert 1 s + skew (computed, not measured)"
        rows += [
            Row("K VIP failover", "holder's keepalived stopped (SIGTERM)", vip["graceful_s"], "s", vip["vrrp_bound_s"],
                bound, note=vip_note),
            Row("K VIP failover", "holder's keepalived SIGKILLed", vip["sigkill_s"], "s", vip["vrrp_bound_s"], bound),
        ]  # fmt: skip
    return rows
