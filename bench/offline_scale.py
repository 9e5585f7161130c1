"""F/G. Growth with the manifest count, without an engine: ``compile_desired`` (manifests → the
desired Swarm objects: every service's spec, its Traefik labels from its routes, configs, networks)
at 1,000 / 2,000 / 5,000 / 10,000 manifests, each the median of 3 compiles of a loaded set, and the
median of 3 ``load_manifests``, the cycle collector held off as every caller runs them; and
``reconciler validate`` of 5,000 services as a process, the median of 3 runs. The sets are the scale set of ``noop_scale`` (a Route
per Service, networks and configs that the services use). In-process figures, no baseline: the goal
is linear growth (10,000 within 10× of 1,000, and at most 1.5 s).
"""

from __future__ import annotations

import gc
import sys
import time

from bench.common import (
    IN_PROCESS,
    INSTANCE,
    PROCESS,
    RUNS,
    Context,
    Row,
    doc,
    median,
    timed_process,
    write_atomically,
)
from bench.noop_scale import write_scale_manifests
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.collector import paused
from reconciler.state.desired import compile_desired

SIZES = (1000, 2000, 5000, 10000)
QUICK_SIZES = (1000, 2000)
GOAL_S = 1.5
VALIDATE_SERVICES = 5000


def _validate_set(ctx: Context, services: int) -> str:
    folder = ctx.folder(f"offline/validate-{services}")
    write_atomically(folder / "network.yaml", doc("Network", "bench-val-net", {}))
    for i in range(services):
        name = f"bench-val-{i:05d}"
        spec = {"image": ctx.busybox, "replicas": 1, "networks": ["bench-val-net"], "labels": {"i": str(i)}}
        write_atomically(folder / f"{name}.yaml", doc("Service", name, spec))
    return str(folder)


def run(ctx: Context) -> list[Row]:
    rows: list[Row] = []
    details: dict[str, object] = {}
    compiled: dict[int, float] = {}
    loaded: dict[int, float] = {}
    for size in QUICK_SIZES if ctx.quick else SIZES:
        folder = ctx.folder(f"offline/compile-{size}")
        counts = write_scale_manifests(ctx, folder, size)
        loads, runs = [], []
        # The cycle collector held off, as every caller runs them (a command turns it off, the controller
        # holds it off for a pass: runtime/collector.py); with it on, its full collections walk every
        # object the set holds, more often the more there are.
        with paused():
            for _ in range(RUNS):
                began = time.perf_counter()
                manifests = load_manifests(folder)
                loads.append(time.perf_counter() - began)
            for _ in range(RUNS):
                began = time.perf_counter()
                compile_desired(manifests, INSTANCE)
                runs.append(time.perf_counter() - began)
            del manifests
        gc.collect()
        compiled[size], loaded[size] = median(runs), median(loads)
        details[f"compile_{size}"] = {"objects": counts, "load_manifests_s": loads, "compile_desired_s": runs}
        last = size == max(compiled)
        rows.append(Row("F compile_desired", f"{counts['manifests']:,} manifests", compiled[size], "s", None, "",
                        f"≤ {GOAL_S} s at 10,000" if size == 10000 else "",
                        compiled[size] <= GOAL_S if size == 10000 else None,
                        f"load_manifests {loaded[size]:.2f} s"
                        + (f"; {compiled[size] / compiled[1000]:.1f}× the 1,000 figure (load_manifests "
                           f"{loaded[size] / loaded[1000]:.1f}×)" if last and size > 1000 else ""),
                        IN_PROCESS))  # fmt: skip
    top = max(compiled)
    if top > 1000:  # item 3 of issue 18: every stage at 10,000 manifests within 10× of 1,000
        growth = max(compiled[top] / compiled[1000], loaded[top] / loaded[1000])
        rows.append(Row("F compile_desired", f"growth 1,000 → {top:,} (the larger of load and compile)", growth, "×",
                        None, "", f"≤ {top // 1000}× (linear)", growth <= top / 1000,
                        f"compile_desired {compiled[top] / compiled[1000]:.1f}×, load_manifests "
                        f"{loaded[top] / loaded[1000]:.1f}×", IN_PROCESS))  # fmt: skip
    services = 1000 if ctx.quick else VALIDATE_SERVICES
    validate_folder = _validate_set(ctx, services)
    argv = [sys.executable, "-m", "reconciler", "validate", validate_folder]
    runs = [timed_process(argv) for _ in range(RUNS)]
    details["validate"] = {"services": services, "wall_s": runs}
    ctx.details["offline_scale"] = details
    rows.append(Row(f"G validate, {services:,} services", "`reconciler validate`", median(runs), "s", None, "",
                    note="one file per service, and their network", compare=PROCESS))  # fmt: skip
    return rows
