"""E. File change → Docker updated (2 manifests): a manifest change written into the watched folder (aside + rename, as a
Git-sync does) until the object is updated in Docker, with the controller running in this process.

The service's labels are polled every 5 ms through a client of their own. Baseline: the one Engine API
call that makes the same change by hand (``POST /services/{id}/update`` with the new label), timed alone,
with the controller stopped. The controller's passes are timed too, to split the latency into "until the
controller wakes" (file watcher debounce + the loop's settle time) and "the pass itself".
"""

from __future__ import annotations

import copy
import time
from typing import Any

from bench.common import (
    IN_PROCESS,
    Context,
    Row,
    doc,
    pass_split,
    running_controller,
    summary,
    wait_for,
    write_atomically,
)

NAME = "bench-latency"
LABEL = "bench.version"
GOAL_MS = 50.0


def _manifests(ctx: Context, version: int) -> list[dict[str, Any]]:
    return [
        doc("Service", NAME, {"image": ctx.busybox, "replicas": 0, "labels": {LABEL: str(version)}}),
        doc("Route", NAME, {"service": NAME, "port": 8080, "hosts": ["latency.bench.test"]}),
    ]


def run(ctx: Context) -> list[Row]:
    changes = 20 if ctx.quick else 40
    folder = ctx.folder("change-latency")
    file = folder / "app.yaml"
    write_atomically(file, *_manifests(ctx, 0))
    watcher = ctx.swarm()

    def label() -> str:
        return str(watcher.get(f"/services/{NAME}")["Spec"]["Labels"][LABEL])

    latencies: list[float] = []
    wakes: list[float] = []
    passes_s: list[float] = []
    marks: list[tuple[float, float]] = []
    timeouts = 0
    pass_log: list[tuple[float, float]] = []
    with running_controller(folder, ctx.swarm(), pass_log=pass_log) as ctl:
        if wait_for(lambda: label() == "0", timeout=30) is None or wait_for(ctl.ready, timeout=10) is None:
            raise RuntimeError("the controller did not converge the first revision within 40 s")
        for version in range(1, changes + 1):
            time.sleep(0.3)  # let the events of the previous write pass: measure from an idle controller
            began = time.perf_counter()
            write_atomically(file, *_manifests(ctx, version))
            took = wait_for(lambda v=str(version): label() == v, timeout=10)  # type: ignore[misc]
            if took is None:
                timeouts += 1
                continue
            latencies.append(took)
            marks.append((began, took))
    # Split once the controller has stopped: a pass is logged when it ends, after the write is seen.
    for began, took in marks:
        split = pass_split(pass_log, began, took)
        if split:
            wakes.append(split[0])
            passes_s.append(split[1])

    # Baseline: the same label change as one API call, the controller stopped.
    api_calls: list[float] = []
    for i in range(changes):
        live = watcher.get(f"/services/{NAME}")
        spec = copy.deepcopy(live["Spec"])
        spec["Labels"][LABEL] = f"api-{i}"
        began = time.perf_counter()
        watcher.update_service(live["ID"], live["Version"]["Index"], spec)
        api_calls.append(time.perf_counter() - began)
        assert label() == f"api-{i}"
        time.sleep(0.02)
    watcher.close()

    lat, base = summary(latencies), summary(api_calls)
    ctx.details["change_latency"] = {
        "changes": changes, "timeouts": timeouts, "write_to_converged_s": lat, "api_update_call_s": base,
        "controller_woken_after_s": summary(wakes), "controller_pass_s": summary(passes_s), "poll_step_s": 0.005,
    }  # fmt: skip
    p50 = (lat["p50"] or 0) * 1000
    woke, pass_p50 = summary(wakes)["p50"], summary(passes_s)["p50"]
    parts = f"woken after {woke * 1000:.0f} ms, pass {pass_p50 * 1000:.0f} ms (p50)" if woke and pass_p50 else ""
    return [
        Row("E file change → Docker updated", f"p50, 2 manifests ({len(latencies)} changes)", p50, "ms",
            (base["p50"] or 0) * 1000, "the API label update alone", f"p50 ≤ {GOAL_MS:.0f} ms", p50 <= GOAL_MS,
            parts + (f"; {timeouts} timed out" if timeouts else ""), IN_PROCESS),
        Row("E file change → Docker updated", "p95, 2 manifests", (lat["p95"] or 0) * 1000, "ms",
            (base["p95"] or 0) * 1000, "the API label update alone", compare=IN_PROCESS),
    ]  # fmt: skip
