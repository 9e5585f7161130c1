"""4. Cold apply of 200 services with routes (``--quick``: 50), and one changed service among them.

The reconciler: ``reconcile_once`` on a swarm without any of the objects (wall time, requests, writes),
then one Route's host changed in its manifest and another pass: how many services the plan and the
outcomes touch. Baseline: ``docker stack deploy`` of the equivalent compose file (same services,
labels and network) into a new stack, then the same one-service change redeployed. Each stack run is
done twice, into two stacks: once through the counting proxy (requests, and ``POST /services/{id}/update``
calls: how many services it touches) and once directly against the lab socket (wall time).
"""

from __future__ import annotations

import time
from pathlib import Path

from bench.common import INSTANCE, Context, Row, doc, write_atomically
from bench.counting_proxy import CountingProxy
from bench.noop_scale import compose_for, stack_deploy
from reconciler.engine.events import ChangeFinished, ChangeStarted, Event
from reconciler.engine.reconcile import reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired

NETWORK = "bench-cold-net"


def _write(ctx: Context, folder: Path, services: int, changed: int | None = None) -> None:
    write_atomically(folder / "network.yaml", doc("Network", NETWORK, {}))
    for i in range(services):
        name = f"bench-cold-{i:04d}"
        host = f"cold-{i:04d}.bench.test" if i != changed else f"moved-{i:04d}.bench.test"
        write_atomically(
            folder / f"{name}.yaml",
            doc("Service", name, {"image": ctx.busybox, "replicas": 0, "networks": [NETWORK], "labels": {"i": str(i)}}),
            doc("Route", name, {"service": name, "port": 8080, "hosts": [host], "entryPoints": ["web"]}),
        )


def run(ctx: Context) -> list[Row]:
    services = 50 if ctx.quick else 200
    changed = services // 2
    folder = ctx.folder("cold-apply/manifests")
    _write(ctx, folder, services)
    desired = compile_desired(load_manifests(folder), INSTANCE)

    swarm = ctx.swarm(timeout=120)
    spent: dict[str, float] = {}  # seconds per kind of change, from the engine's events
    opened: dict[str, float] = {}

    def on_event(event: Event) -> None:
        if isinstance(event, ChangeStarted):
            opened[event.change.key] = time.perf_counter()
        elif isinstance(event, ChangeFinished) and event.change.key in opened:
            kind = event.change.kind
            spent[kind] = spent.get(kind, 0.0) + time.perf_counter() - opened.pop(event.change.key)

    began, cpu0 = time.perf_counter(), time.process_time()
    cold = reconcile_once(swarm, desired, on_event=on_event, dependency_timeout=30)
    cold_wall, cold_cpu = time.perf_counter() - began, time.process_time() - cpu0
    cold_requests, cold_writes = swarm.requests, swarm.writes
    created = sum(1 for o in cold.applied.outcomes if o.status.value == "done" and o.change.kind == "Service")
    if not cold.converged:
        raise RuntimeError(f"the cold apply did not converge: {cold.applied.counts()}")

    _write(ctx, folder, services, changed=changed)
    desired_changed = compile_desired(load_manifests(folder), INSTANCE)
    time.sleep(0.5)
    r0, w0 = swarm.requests, swarm.writes
    began = time.perf_counter()
    one = reconcile_once(swarm, desired_changed)
    one_wall = time.perf_counter() - began
    one_requests, one_writes = swarm.requests - r0, swarm.writes - w0
    planned = [c.key for c in one.plan.changes if c.changes_something]
    touched = sum(1 for o in one.applied.outcomes if o.status.value == "done")
    swarm.close()

    stack_folder = ctx.folder("cold-apply/stack")
    compose = compose_for(desired, stack_folder)
    with CountingProxy(ctx.lab.socket_path, ctx.workdir / "cold-proxy.sock") as proxy:
        counted_cold = stack_deploy(ctx, compose, "bench-cold-a", docker_host=proxy.url)
        stack_cold = proxy.counts()
        stack_timed = stack_deploy(ctx, compose, "bench-cold-b")
        changed_compose = compose_for(desired_changed, ctx.folder("cold-apply/stack-changed"))
        time.sleep(0.5)
        proxy.reset()
        stack_deploy(ctx, changed_compose, "bench-cold-a", docker_host=proxy.url)
        stack_one = proxy.counts()
    stack_one_timed = stack_deploy(ctx, changed_compose, "bench-cold-b")
    stack_updates = stack_one.by_route.get("POST /services/{id}/update", 0)

    ctx.details["cold_apply"] = {
        "services": services, "routes": services, "networks": 1,
        "reconciler_cold": {"wall_s": cold_wall, "cpu_s": cold_cpu, "requests": cold_requests, "writes": cold_writes,
                            "by_method": dict(swarm.by_method), "outcomes": cold.applied.counts(),
                            "seconds_by_kind": spent},
        "reconciler_one_changed": {"wall_s": one_wall, "requests": one_requests, "writes": one_writes,
                                   "planned_changes": planned, "outcomes": one.applied.counts()},
        "stack_cold": {**stack_timed, "via_proxy_wall_s": counted_cold["wall_s"], "requests": stack_cold.as_dict()},
        "stack_one_changed": {**stack_one_timed, "requests": stack_one.as_dict()},
    }  # fmt: skip
    section = f"4 cold apply ({services} svc + routes)"
    return [
        Row(section, "cold apply wall", cold_wall, "s", stack_timed["wall_s"], "docker stack deploy, new stack",
            note=f"{created} services created; " + ", ".join(f"{k}s {v:.2f} s" for k, v in spent.items())
            + f", observe + plan {cold_wall - sum(spent.values()):.2f} s; reconciler CPU {cold_cpu:.2f} s, "
            f"CLI CPU {stack_timed['cpu_s']:.2f} s"),
        Row(section, "cold apply requests", cold_requests, "req", stack_cold.total, "docker stack deploy (proxy)",
            note=f"writes: reconciler {cold_writes}, stack {stack_cold.writes}"),
        Row(section, "1 changed: services written", touched, "services", stack_updates,
            "docker stack deploy: POST /services/{id}/update", note=f"reconciler plan: {', '.join(planned) or 'nothing'}"),
        Row(section, "1 changed: requests", one_requests, "req", stack_one.total, "docker stack deploy (proxy)",
            note=f"writes: reconciler {one_writes}, stack {stack_one.writes}"),
        Row(section, "1 changed: wall", one_wall, "s", stack_one_timed["wall_s"], "docker stack deploy, redeploy"),
    ]  # fmt: skip
