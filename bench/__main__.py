"""``python -m bench [--quick] [--only NAME,...]``: run the benchmarks against the lab, print a table,
write ``bench/results.json``. Numbers never fail the run; a measurement that breaks (a timeout, the
engine gone) is reported and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    ansible_diff,
    change_latency,
    cold_apply,
    drift_repair,
    failover,
    memory,
    noop_scale,
    offline_scale,
    startup,
)
from bench.common import DOCKER_CLIS, Context, Row, cleanup
from reconciler.swarm.port import SwarmError
from tests.lab import Lab
from tests.lab.images import ensure_busybox_image

MEASUREMENTS: dict[str, Callable[[Context], list[Row]]] = {
    "startup": startup.run,
    "ansible_diff": ansible_diff.run,
    "noop_scale": noop_scale.run,
    "cold_apply": cold_apply.run,
    "change_latency": change_latency.run,
    "offline_scale": offline_scale.run,
    "memory": memory.run,
    "drift_repair": drift_repair.run,
    "failover": failover.run,
}
EXTRA = ("failover",)  # not in the default run: minutes long, and its VIP part needs the three-node lab
DEFAULT_WORK = Path("/var/tmp/srbench")
RESULTS = Path(__file__).resolve().parent / "results.json"


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "ms":
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    if unit == "×":
        return f"{value:.1f}×"
    if unit == "MiB":
        return f"{value:.1f} MiB"
    if unit in ("req", "objects", "services"):
        return f"{value:.0f}"
    return f"{value:g} {unit}"


def _ratio(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "-"
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.0f}×"


def table(rows: list[Row]) -> str:
    header = ("measurement", "metric", "reconciler", "baseline", "ratio", "goal", "met", "compares")
    lines = [
        (r.section, r.metric, _value(r.value, r.unit), _value(r.baseline, r.unit), _ratio(r), r.goal,
         "" if r.met is None else ("met" if r.met else "NOT met"), r.compare)
        for r in rows
    ]  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=False)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines]
    baselines: dict[str, list[str]] = {}
    for r in rows:
        if r.baseline_what:
            baselines.setdefault(r.section, [])
            if r.baseline_what not in baselines[r.section]:
                baselines[r.section].append(r.baseline_what)
    out.append("")
    out.append("baselines (measured in this run unless said otherwise):")
    out += [f"  {section}: {'; '.join(whats)}" for section, whats in baselines.items()]
    notes = [f"  {r.section} / {r.metric}: {r.note}" for r in rows if r.note]
    if notes:
        out.append("notes:")
        out += notes
    return "\n".join(out)


def _engine_answers(ctx: Context) -> bool:
    try:
        swarm = ctx.swarm(timeout=5)
    except SwarmError:
        return False
    try:
        swarm.ping()
        return True
    except SwarmError:
        return False
    finally:
        swarm.close()


def _wait_for_engine(ctx: Context, timeout: float = 180.0) -> bool:
    """The lab is shared: another run may restart it. Wait (bounded) until it answers again."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _engine_answers(ctx):
            ensure_busybox_image(ctx.lab.env())  # a new lab has no images yet
            return True
        time.sleep(1.0)
    return False


def _cleanup_quietly(ctx: Context) -> dict[str, int] | str:
    try:
        return cleanup(ctx)
    except SwarmError as exc:
        return f"not cleaned up: {exc}"


def _server_version(ctx: Context) -> str:
    swarm = ctx.swarm()
    try:
        return str(swarm.get("/version").get("Version"))
    finally:
        swarm.close()


def _cli_version(cli: str, env: dict[str, str]) -> str:
    found = subprocess.run([cli, "version", "--format", "{{.Client.Version}}"], env=env, capture_output=True,
                           text=True, timeout=30, check=False)  # fmt: skip
    return found.stdout.strip() or "?"


def use_bytecode() -> str:
    """The reconciler's processes run from bytecode, as an installed reconciler does (pip compiles a
    wheel's modules at install; so does the image's install stage). A session with
    ``PYTHONDONTWRITEBYTECODE=1`` and the editable install would otherwise compile every module of the
    package from source in every timed process: about 50 ms of a 0.45 s ``reconciler diff``, measured.
    The ``__pycache__`` folders go beside the sources (git ignores them)."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # for the processes the bench starts
    package = Path(__file__).resolve().parent.parent / "reconciler"
    compiled = compileall.compile_dir(package, quiet=1)
    return f"{package} compiled to bytecode" if compiled else f"{package}: some modules did not compile"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smaller run (about 2 minutes)")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(MEASUREMENTS)}")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"where to write the JSON (default {RESULTS})")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help=f"work folder; what is kept across runs (the Ansible venv) stays there (default {DEFAULT_WORK})")  # fmt: skip
    args = parser.parse_args(argv)
    default = [n for n in MEASUREMENTS if n not in EXTRA]
    chosen = default if not args.only else [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in MEASUREMENTS]
    if unknown:
        parser.error(f"unknown measurement(s): {', '.join(unknown)}")
    if os.geteuid() != 0:
        print("the lab dockerd needs root: run as root", file=sys.stderr)
        return 2
    started = time.monotonic()
    bytecode = use_bytecode()
    load_before = os.getloadavg()
    lab = Lab().up()
    cli = next((c for c in DOCKER_CLIS if os.path.exists(c)), None) or shutil.which("docker") or "docker"
    args.work.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="run-", dir=args.work))
    ctx = Context(lab, args.quick, workdir, ensure_busybox_image(lab.env()), cli, cache=args.work)
    print(f"lab {lab.base_url}; docker CLI {cli}; work folder {workdir}; {'quick' if args.quick else 'full'} run",
          flush=True)  # fmt: skip
    left = cleanup(ctx)
    if left:
        print(f"removed leftovers of an earlier run: {left}", flush=True)
    rows: list[Row] = []
    timings: dict[str, float] = {}
    errors: dict[str, str] = {}
    restarts: list[str] = []
    for name in chosen:
        print(f"\n== {name} ...", flush=True)
        began = time.monotonic()
        for attempt in (1, 2):
            try:
                got = MEASUREMENTS[name](ctx)
                rows += got
                print(table(got).split("\n\n")[0], flush=True)
                break
            except Exception as exc:
                gone = not _engine_answers(ctx)
                if gone and attempt == 1 and _wait_for_engine(ctx):
                    # The lab is shared: someone restarted it under this measurement. Once more, from scratch.
                    restarts.append(name)
                    print(f"   the lab's engine went away during {name} and is back: measuring it again", flush=True)
                    _cleanup_quietly(ctx)
                    continue
                errors[name] = f"{type(exc).__name__}: {exc}"
                traceback.print_exc()
                rows.append(Row(name, "error", None, "", note=errors[name]))
                break
        removed = _cleanup_quietly(ctx)
        timings[name] = round(time.monotonic() - began, 1)
        print(f"   ({timings[name]:.0f} s; cleaned up {removed or 'nothing'})", flush=True)
    shutil.rmtree(workdir, ignore_errors=True)
    total = time.monotonic() - started
    load = f"load average {load_before[0]:.1f} before, {os.getloadavg()[0]:.1f} after, on {os.cpu_count()} CPUs"
    print(f"\n{'quick' if args.quick else 'full'} run, {total:.0f} s in all ({load})\n")
    rows.sort(key=lambda r: r.section.split()[0])  # stable: the measurements' own order within a section
    print(table(rows))
    report: dict[str, Any] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "host": {
            "cpus": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "python": platform.python_version(),
            "engine": _server_version(ctx),
            "docker_cli": f"{cli} {_cli_version(cli, lab.env())}",
            "bytecode": bytecode,
        },
        "rows": [r.as_dict() for r in rows],
        "details": ctx.details,
        "seconds": {**timings, "total": round(total, 1)},
        "errors": errors,
        "measured_again_after_a_lab_restart": restarts,
    }
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwrote {args.out}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
