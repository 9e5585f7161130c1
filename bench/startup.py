"""A. Process start: ``reconciler --help`` as a process, against ``docker --version`` (the docker CLI's
own start, client only: no request to an engine), each the median of 5 runs; and where the
reconciler's start goes, from ``python -X importtime`` (the modules with the largest cumulative
import time). Both are whole processes: like with like.
"""

from __future__ import annotations

import subprocess
import sys

from bench.common import PROCESSES, RUNS, Context, Row, median, timed_process

GOAL_S = 0.15
REPEAT = max(RUNS, 5)


def import_top(limit: int = 8) -> list[tuple[str, float]]:
    """(module, cumulative ms) of the slowest top-level imports of ``reconciler --help``."""
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "reconciler", "--help"],
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    rows: list[tuple[str, float, int]] = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        rows.append((name.strip(), int(cumulative) / 1000, depth))
    shallow = min((d for _, _, d in rows), default=0)
    top = sorted(((n, ms) for n, ms, d in rows if d <= shallow + 1), key=lambda r: -r[1])
    return top[:limit]


def run(ctx: Context) -> list[Row]:
    reconciler = [timed_process([sys.executable, "-m", "reconciler", "--help"]) for _ in range(REPEAT)]
    docker = [timed_process([ctx.docker_cli, "--version"], env=ctx.env()) for _ in range(REPEAT)]
    bare = [timed_process([sys.executable, "-c", "pass"]) for _ in range(REPEAT)]
    top = import_top()
    ctx.details["startup"] = {
        "reconciler_help_s": reconciler, "docker_version_s": docker, "bare_python_s": bare,
        "importtime_top_ms": top,
    }  # fmt: skip
    value = median(reconciler)
    return [
        Row("A process start", "`reconciler --help`", value, "s", median(docker), "`docker --version` (client only)",
            f"≤ {GOAL_S} s", value <= GOAL_S, f"bare `python -c pass` {median(bare):.3f} s; slowest imports: "
            + ", ".join(f"{name} {ms:.0f} ms" for name, ms in top[:5]), PROCESSES),
    ]  # fmt: skip
