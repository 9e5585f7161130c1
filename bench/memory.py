"""H. Controller memory: ``reconciler run`` as a process on the scale set (1,000 manifests; ``--quick``:
200), with ``--no-leader-election --resync 2``. It creates every object (its first pass is the cold
apply), then does a few no-op passes; its peak resident set (VmHWM in /proc/<pid>/status) is read
before it is stopped. The median of 3 such runs, everything removed between them. Baselines, each the
median of 3: the peak RSS of ``python -c "import reconciler.cli.app"`` (the interpreter and the
command line's own imports) and of a bare ``python -c pass``. Processes all.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import INSTANCE, PROCESSES, RUNS, Context, Row, cleanup, median
from bench.noop_scale import write_scale_manifests

GOAL_MB = 60.0  # 10^6 bytes
_READ_STATUS = "print(open('/proc/self/status').read())"


def _status_kib(text: str, field: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def _proc_kib(pid: int, field: str) -> int | None:
    try:
        return _status_kib(Path(f"/proc/{pid}/status").read_text(), field)
    except OSError:
        return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_status(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/status", timeout=5) as answer:
            found: dict[str, Any] = json.loads(answer.read())
            return found
    except (OSError, ValueError):
        return None


def bare_import_peak_kib(code: str = "import reconciler.cli.app") -> int:
    done = subprocess.run([sys.executable, "-c", f"{code}; {_READ_STATUS}"],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    found = _status_kib(done.stdout, "VmHWM")
    assert found is not None
    return found


def run(ctx: Context) -> list[Row]:
    target = 200 if ctx.quick else 1000
    folder = ctx.folder("memory/manifests")
    counts = write_scale_manifests(ctx, folder, target)
    runs: list[dict[str, Any]] = []
    for k in range(RUNS):
        if k:
            cleanup(ctx)
        runs.append(_one_run(ctx, folder, 2 if ctx.quick else 3))
    bare = median([float(bare_import_peak_kib()) for _ in range(RUNS)])
    python = median([float(bare_import_peak_kib("pass")) for _ in range(RUNS)])
    peak = median([float(r["peak_rss_kib"]) for r in runs])
    ctx.details["memory"] = {
        "objects": counts,
        "runs": runs,
        "cli_import_peak_kib": bare,
        "bare_python_peak_kib": python,
    }
    last = runs[-1]
    durations = last["noop_pass_durations_s"]
    peak_mb = peak * 1024 / 1e6
    return [
        Row("H controller memory", f"peak RSS, `reconciler run` on {counts['manifests']} manifests", peak / 1024, "MiB",
            bare / 1024, "`python -c 'import reconciler.cli.app'`", f"≤ {GOAL_MB:.0f} MB", peak_mb <= GOAL_MB,
            f"{peak_mb:.1f} MB; bare `python -c pass` {python / 1024:.1f} MiB; runs "
            + ", ".join(f"{r['peak_rss_kib'] / 1024:.1f}" for r in runs)
            + f" MiB; cold apply converged in {last['converged_after_s']:.1f} s; RSS at the end "
            f"{last['rss_at_end_kib'] / 1024:.1f} MiB; no-op passes {', '.join(f'{d:.2f}' for d in durations) or '-'} s",
            PROCESSES),
    ]  # fmt: skip


def _one_run(ctx: Context, folder: Path, extra_passes: int) -> dict[str, Any]:
    port = _free_port()
    log = ctx.workdir / "memory-controller.log"
    argv = [sys.executable, "-m", "reconciler", "--docker-host", ctx.base_url, "--instance", INSTANCE, "run",
            "--manifests", str(folder), "--no-leader-election", "--resync", "2", "--listen", f"127.0.0.1:{port}",
            "--log-level", "warning"]  # fmt: skip
    began = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    samples: list[int] = []
    converged_at: float | None = None
    converged_passes = 0
    durations: list[float] = []
    status: dict[str, Any] | None = None
    try:
        deadline = began + 180
        while time.monotonic() < deadline and proc.poll() is None:
            rss = _proc_kib(proc.pid, "VmRSS")
            if rss:
                samples.append(rss)
            status = _get_status(port)
            result = (status or {}).get("last_result") or {}
            counts_now = result.get("counts") or {}
            in_sync = result.get("ok") and set(counts_now) <= {"noop"}
            if converged_at is None and in_sync:
                converged_at, converged_passes = time.monotonic() - began, int(status["passes"])  # type: ignore[index]
            if converged_at is not None and status is not None:
                passes = int(status["passes"])
                took = result.get("duration_s")
                if passes > converged_passes and took is not None and (not durations or durations[-1] != took):
                    durations.append(float(took))
                if passes >= converged_passes + extra_passes:
                    break
            time.sleep(0.5)
        peak = _proc_kib(proc.pid, "VmHWM")
        current = _proc_kib(proc.pid, "VmRSS")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
    if converged_at is None or peak is None:
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"the controller did not converge within 180 s (status {status}); log:\n{tail}")
    return {"peak_rss_kib": peak, "rss_at_end_kib": current, "rss_samples_kib": samples,
            "converged_after_s": converged_at, "noop_pass_durations_s": durations,
            "passes": (status or {}).get("passes")}  # fmt: skip
