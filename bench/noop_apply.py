"""C. A no-op ``reconciler apply`` of 50 / 200 / 460 services, as a process, against ``docker stack
deploy`` of the same services when nothing changed, as a process: like with like, each the median
of 3 runs. Run by ``noop_scale`` once its scale set exists twice (the reconciler's instance and the
stack ``bench-noop``): a set of N services is a folder (a compose file) with the first N services
and every network and config; the other services are left alone by both (neither prunes here).
The writes are counted once per size through the counting proxy: the reconciler's should be 0.
Each size starts with one run of each that is not counted (a warm-up).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

from bench.common import INSTANCE, PROCESSES, RUNS, Context, Row, median, reconciler_argv, timed_process
from bench.counting_proxy import CountingProxy
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired

SIZES = (50, 200, 460)
GOAL_AT = 50


def subset(ctx: Context, scale: Path, services: int) -> Path:
    """A folder with the scale set's networks, configs and first ``services`` service files."""
    folder = ctx.folder(f"noop-apply/{services}")
    for name in ("networks.yaml", "configs.yaml"):
        shutil.copy(scale / name, folder / name)
    (folder / "services").mkdir()
    for path in sorted((scale / "services").glob("*.yaml"))[:services]:
        shutil.copy(path, folder / "services" / path.name)
    return folder


def measure(ctx: Context, scale: Path, stack: str, compose_for: Any, stack_deploy: Any) -> list[Row]:
    available = len(list((scale / "services").glob("*.yaml")))
    rows: list[Row] = []
    details: dict[str, Any] = {}
    time.sleep(3.0)  # the engine is still busy with the stack it just created: let it settle
    for size in [s for s in SIZES if s <= available] or [available]:
        folder = subset(ctx, scale, size)
        compose = compose_for(compile_desired(load_manifests(folder), INSTANCE), ctx.folder(f"noop-apply/{size}-stack"))
        argv = reconciler_argv(ctx, "apply", "--yes", str(folder))
        timed_process(argv, ok=(0, 1))  # a warm-up, not counted: the first run after a pause pays the OS's caches
        stack_deploy(ctx, compose, stack)
        ours = [timed_process(argv, ok=(0, 1)) for _ in range(RUNS)]  # 1: the rest show as "not in manifests"
        theirs = [stack_deploy(ctx, compose, stack)["wall_s"] for _ in range(RUNS)]
        with CountingProxy(ctx.lab.socket_path, ctx.workdir / f"noop-apply-{size}.sock") as proxy:
            timed_process([*argv[:4], proxy.url, *argv[5:]], ok=(0, 1))
            our_counts = proxy.counts()
            proxy.reset()
            stack_deploy(ctx, compose, stack, docker_host=proxy.url)
            their_counts = proxy.counts()
        details[str(size)] = {"reconciler_apply_s": ours, "stack_deploy_s": theirs,
                              "reconciler_requests": our_counts.as_dict(), "stack_requests": their_counts.as_dict()}  # fmt: skip
        value, base = median(ours), median(theirs)
        goal = size == GOAL_AT
        rows.append(Row("C no-op apply", f"{size} services: `reconciler apply --yes`", value, "s", base,
                        "`docker stack deploy`, nothing changed", "no slower, 0 writes" if goal else "",
                        value <= base and our_counts.writes == 0 if goal else None,
                        f"writes: reconciler {our_counts.writes}, stack {their_counts.writes}; requests: reconciler "
                        f"{our_counts.total}, stack {their_counts.total}", PROCESSES))  # fmt: skip
    ctx.details["noop_apply"] = details
    return rows
