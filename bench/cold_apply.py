"""D. Cold create of 200 services with routes and one network (``--quick``: 50): ``reconciler apply
--yes --no-wait`` as a process against ``docker stack deploy`` of the equivalent compose file into a
new stack, as a process: like with like, each the median of 3 runs, everything removed between runs.
The reconciler writes up to ``--apply-workers`` (default 8) independent objects at once; one run of
the in-process pass (no start-up) with one worker (one write after another) and one with eight are
recorded next to it, to show what the concurrency buys. Requests are counted once each through the counting proxy.
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import (
    INSTANCE,
    PROCESSES,
    RUNS,
    Context,
    Row,
    cleanup,
    doc,
    median,
    reconciler_argv,
    timed_process,
    write_atomically,
)
from bench.counting_proxy import CountingProxy
from bench.noop_scale import compose_for, stack_deploy
from reconciler.engine.reconcile import reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired

NETWORK = "bench-cold-net"


def _write(ctx: Context, folder: Path, services: int) -> None:
    write_atomically(folder / "network.yaml", doc("Network", NETWORK, {}))
    for i in range(services):
        name = f"bench-cold-{i:04d}"
        write_atomically(
            folder / f"{name}.yaml",
            doc("Service", name, {"image": ctx.busybox, "replicas": 0, "networks": [NETWORK], "labels": {"i": str(i)}}),
            doc("Route", name, {"service": name, "port": 8080, "hosts": [f"cold-{i:04d}.bench.test"],
                                "entryPoints": ["web"]}),
        )  # fmt: skip


def _services(ctx: Context) -> int:
    swarm = ctx.swarm()
    try:
        return sum(1 for s in swarm.get("/services") if s["Spec"]["Name"].startswith("bench-cold-"))
    finally:
        swarm.close()


def run(ctx: Context) -> list[Row]:
    services = 50 if ctx.quick else 200
    folder = ctx.folder("cold-apply/manifests")
    _write(ctx, folder, services)
    desired = compile_desired(load_manifests(folder), INSTANCE)
    argv = reconciler_argv(ctx, "apply", "--yes", "--no-wait", str(folder))
    ours: list[float] = []
    for _ in range(RUNS):
        ours.append(timed_process(argv))
        if _services(ctx) != services:
            raise RuntimeError(f"reconciler apply created {_services(ctx)} of {services} services")
        cleanup(ctx)
    with CountingProxy(ctx.lab.socket_path, ctx.workdir / "cold-proxy.sock") as proxy:
        timed_process([*argv[:4], proxy.url, *argv[5:]])
        our_counts = proxy.counts()
        cleanup(ctx)
        compose = compose_for(desired, ctx.folder("cold-apply/stack"))
        proxy.reset()
        stack_deploy(ctx, compose, "bench-cold-counted", docker_host=proxy.url)
        their_counts = proxy.counts()
    cleanup(ctx)
    theirs: list[float] = []
    for k in range(RUNS):
        theirs.append(stack_deploy(ctx, compose, f"bench-cold-{k}")["wall_s"])
        cleanup(ctx)
    in_process: dict[int, float] = {}
    for workers in (1, 8):  # the engine's pass alone (no start-up), one write at a time and eight at once
        swarm = ctx.swarm(timeout=120)
        began = time.perf_counter()
        done = reconcile_once(swarm, desired, dependency_timeout=30, workers=workers)
        in_process[workers] = time.perf_counter() - began
        swarm.close()
        if not done.converged:
            raise RuntimeError(
                f"the in-process cold apply ({workers} workers) did not converge: {done.applied.counts()}"
            )
        cleanup(ctx)
    ctx.details["cold_apply"] = {
        "services": services, "routes": services, "networks": 1, "reconciler_apply_s": ours, "stack_deploy_s": theirs,
        "reconciler_requests": our_counts.as_dict(), "stack_requests": their_counts.as_dict(),
        "in_process_s_by_workers": in_process,
    }  # fmt: skip
    value, base = median(ours), median(theirs)
    return [
        Row(f"D cold create, {services} services", "`reconciler apply --yes` (8 workers)", value, "s", base,
            "`docker stack deploy`, new stack", "no slower", value <= base,
            f"requests: reconciler {our_counts.total} ({our_counts.writes} writes), stack {their_counts.total} "
            f"({their_counts.writes} writes); the in-process pass alone: {in_process[1]:.2f} s with 1 worker, "
            f"{in_process[8]:.2f} s with 8", PROCESSES),
    ]  # fmt: skip
