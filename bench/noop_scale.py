"""3. The no-op pass at scale: 1,000 manifests (``--quick``: 200) on a converged swarm.

The manifests: services with 0 replicas, one ``Route`` each (routes are labels on their service, not
Swarm objects of their own), plus overlay networks and configs that the services use. Both numbers are
printed: manifests and the Swarm objects they become.

Measured: ``reconcile_once`` on the converged state (wall time, this process's CPU time, API requests
and writes, from the adapter's own counters and, once, through the counting proxy), and the
controller's whole no-op pass (``Controller.pass_once``: it also re-reads and re-validates the
manifest folder every time), each profiled once to say where the time goes.

Baseline: ``docker stack deploy`` of the equivalent compose file (the same services, labels,
networks and configs) when nothing changed: wall time and CPU time of the CLI process measured
directly against the lab socket, requests and writes counted through the counting proxy.
"""

from __future__ import annotations

import base64
import cProfile
import io
import pstats
import resource
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from bench import noop_apply
from bench.common import (
    IN_PROCESS,
    IN_PROCESS_VS_PROCESS,
    INSTANCE,
    Context,
    Row,
    doc,
    pass_split,
    running_controller,
    summary,
    wait_for,
    write_atomically,
)
from bench.counting_proxy import CountingProxy
from reconciler.engine.reconcile import reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.state.desired import DesiredState, compile_desired

GOAL_S = 1.0
STACK = "bench-noop"
KINDS = ("services", "networks", "configs", "secrets", "nodes", "volumes", "tasks")


def sizes(manifests: int) -> tuple[int, int, int]:
    """(services, networks, configs) for ``manifests`` manifests: one Route per service."""
    networks = configs = max(1, manifests // 25)
    services = (manifests - networks - configs) // 2
    return services, networks, configs


def write_scale_manifests(ctx: Context, folder: Path, manifests: int) -> dict[str, int]:
    """One file per service (the Service and its Route), one for the networks, one for the configs."""
    services, networks, configs = sizes(manifests)
    write_atomically(folder / "networks.yaml", *[doc("Network", f"bench-net-{i:02d}", {}) for i in range(networks)])
    write_atomically(
        folder / "configs.yaml",
        *[doc("Config", f"bench-conf-{i:02d}", {"data": f"bench config {i}\n"}) for i in range(configs)],
    )
    (folder / "services").mkdir(exist_ok=True)
    for i in range(services):
        name = f"bench-svc-{i:04d}"
        spec = {
            "image": ctx.busybox,
            "replicas": 0,
            "labels": {"bench.index": str(i)},
            "networks": [f"bench-net-{i % networks:02d}"],
            "configs": [{"name": f"bench-conf-{i % configs:02d}"}],
        }
        write_atomically(
            folder / "services" / f"{name}.yaml",
            doc("Service", name, spec),
            doc("Route", name, {"service": name, "port": 8080, "hosts": [f"svc-{i:04d}.bench.test"]}),
        )
    return {
        "manifests": services * 2 + networks + configs,
        "swarm_objects": services + networks + configs,
        "services": services,
        "routes": services,
        "networks": networks,
        "configs": configs,
    }


def compose_for(desired: DesiredState, folder: Path) -> Path:
    """A compose v3.8 file equivalent to the desired state: the same service labels (routes included,
    the reconciler's own ``reconciler.swarm/*`` bookkeeping labels left out), networks and configs."""
    compose: dict[str, Any] = {"version": "3.8", "services": {}, "networks": {}, "configs": {}}
    config_names = {}
    for item in desired.objects:
        if item.swarm_kind == "network":
            compose["networks"][item.swarm_name] = {"driver": "overlay"}
        elif item.swarm_kind == "config":
            short = item.key.split("/", 1)[1]
            config_names[item.swarm_name] = short
            data = folder / f"{short}.txt"
            data.write_bytes(base64.b64decode(item.spec["Data"]))
            compose["configs"][short] = {"file": f"./{data.name}"}
    for item in desired.objects:
        if item.swarm_kind != "service":
            continue
        spec = item.spec
        container = spec["TaskTemplate"]["ContainerSpec"]
        labels = {k: v for k, v in spec["Labels"].items() if not k.startswith("reconciler.swarm/")}
        service: dict[str, Any] = {
            "image": container["Image"],
            "deploy": {"replicas": spec["Mode"]["Replicated"]["Replicas"], "labels": labels},
        }
        if spec["TaskTemplate"].get("Networks"):
            service["networks"] = [n["Target"] for n in spec["TaskTemplate"]["Networks"]]
        if container.get("Configs"):
            service["configs"] = [
                {"source": config_names[c["ConfigName"]], "target": c["File"]["Name"]} for c in container["Configs"]
            ]
        compose["services"][item.swarm_name] = service
    path = folder / "docker-compose.yml"
    path.write_text(yaml.safe_dump(compose, sort_keys=False))
    return path


def stack_deploy(ctx: Context, compose: Path, stack: str, docker_host: str | None = None) -> dict[str, float]:
    """``docker stack deploy``: wall time and the CLI process's CPU time (user + system)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    done = subprocess.run(
        [ctx.docker_cli, "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c", str(compose), stack],
        env=ctx.env(docker_host), capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"docker stack deploy {stack} failed: {done.stderr.strip()[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall_s": wall, "cpu_s": cpu}


def profile_top(call: Any, limit: int = 12) -> list[str]:
    profiler = cProfile.Profile()
    profiler.enable()
    call()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(limit)
    return [line.rstrip() for line in out.getvalue().splitlines() if line.strip()][-limit - 1 :]


def converge(ctx: Context, desired: DesiredState) -> dict[str, Any]:
    """Apply until a pass plans nothing (the cold apply, recorded for information)."""
    swarm = ctx.swarm(timeout=120)
    info: dict[str, Any] = {}
    try:
        for attempt in range(1, 4):
            began, requests = time.perf_counter(), swarm.requests
            result = reconcile_once(swarm, desired, dependency_timeout=30)
            changed = sum(1 for c in result.plan.changes if c.changes_something)
            info[f"pass_{attempt}"] = {"wall_s": time.perf_counter() - began, "requests": swarm.requests - requests,
                                       "changes": changed, "ok": result.converged}  # fmt: skip
            if changed == 0:
                return info
    finally:
        swarm.close()
    raise RuntimeError(f"the scale set did not converge in 3 passes: {info}")


def change_at_scale(
    ctx: Context, folder: Path, changes: int, step: float = 0.005
) -> tuple[list[float], list[tuple[float, float]]]:
    """Change one service's label in its manifest, with the controller running on the whole folder:
    seconds until converged, and (until the applying pass started, that pass's duration) for each."""
    name = "bench-svc-0007"
    path = folder / "services" / f"{name}.yaml"
    documents = list(yaml.safe_load_all(path.read_text()))
    watcher = ctx.swarm()
    pass_log: list[tuple[float, float]] = []
    latencies: list[float] = []
    splits: list[tuple[float, float]] = []
    marks: list[tuple[float, float]] = []

    def label() -> str:
        return str(watcher.get(f"/services/{name}")["Spec"]["Labels"]["bench.index"])

    with running_controller(folder, ctx.swarm(), pass_log=pass_log) as ctl:
        if wait_for(ctl.ready, timeout=60, step=0.05) is None:
            raise RuntimeError("the controller's first pass over the scale set took over 60 s")
        for k in range(changes):
            time.sleep(2.0)  # from an idle controller: the event-woken pass after the last write is over
            documents[0]["spec"]["labels"]["bench.index"] = f"changed-{k}"
            began = time.perf_counter()
            write_atomically(path, *documents)
            took = wait_for(lambda v=f"changed-{k}": label() == v, timeout=30, step=step)  # type: ignore[misc]
            if took is None:
                continue
            latencies.append(took)
            marks.append((began, took))
    watcher.close()
    # Split once the controller has stopped: a pass is logged when it ends, after the write is seen.
    for began, took in marks:
        split = pass_split(pass_log, began, took)
        if split:
            splits.append(split)
    return latencies, splits


def run(ctx: Context) -> list[Row]:
    target = 200 if ctx.quick else 1000
    passes = 3 if ctx.quick else 10
    folder = ctx.folder("noop-scale/manifests")
    counts = write_scale_manifests(ctx, folder, target)
    load_s, compile_s = [], []
    for _ in range(3):
        began = time.perf_counter()
        manifests = load_manifests(folder)
        load_s.append(time.perf_counter() - began)
        began = time.perf_counter()
        desired = compile_desired(manifests, INSTANCE)
        compile_s.append(time.perf_counter() - began)
    loaded = summary(load_s)["p50"] or 0.0
    compiled = summary(compile_s)["p50"] or 0.0
    setup = converge(ctx, desired)

    # The engine's no-op pass, several times.
    swarm = ctx.swarm()
    walls, cpus, requests, writes, lists = [], [], [], [], []
    for _ in range(passes):
        time.sleep(0.2)
        r0, w0, c0, t0 = swarm.requests, swarm.writes, time.process_time(), time.perf_counter()
        result = reconcile_once(swarm, desired)
        walls.append(time.perf_counter() - t0)
        cpus.append(time.process_time() - c0)
        requests.append(swarm.requests - r0)
        writes.append(swarm.writes - w0)
        lists.append(sum(1 for c in result.plan.changes if c.changes_something))
    engine_profile = profile_top(lambda: reconcile_once(swarm, desired))

    # The same pass through the counting proxy: what the engine sees, request by request.
    with CountingProxy(ctx.lab.socket_path, ctx.workdir / "noop-proxy.sock") as proxy:
        proxied = ctx.swarm(url=proxy.url)
        proxy.reset()
        reconcile_once(proxied, desired)
        by_proxy = proxy.counts()
        proxied.close()
    per_kind = {kind: by_proxy.by_route.get(f"GET /{kind}", 0) for kind in KINDS}
    other_reads = by_proxy.reads - sum(per_kind.values())

    # The controller's whole pass: re-read the folder, then the same engine pass.
    ctl = Controller(ControllerConfig(folder, instance=INSTANCE, resync_s=3600, watch=False, events=False), swarm)
    ctl.pass_once()  # the first pass compiles the revision
    ctl_walls, ctl_cpus = [], []
    for _ in range(passes):
        c0, t0 = time.process_time(), time.perf_counter()
        ctl.pass_once()
        ctl_walls.append(time.perf_counter() - t0)
        ctl_cpus.append(time.process_time() - c0)
    controller_profile = profile_top(ctl.pass_once)
    swarm.close()
    compile_profile = profile_top(lambda: compile_desired(manifests, INSTANCE))

    # One manifest changed, with the controller running on the whole folder (load + compile + pass).
    changes = 3 if ctx.quick else 10
    at_scale, splits = change_at_scale(ctx, folder, changes)

    # Baseline: docker stack deploy of the same, once to create, then unchanged: timed directly,
    # counted through the proxy.
    compose = compose_for(desired, ctx.folder("noop-scale/stack"))
    stack_cold = stack_deploy(ctx, compose, STACK)
    time.sleep(1.0)
    stack_noop = [stack_deploy(ctx, compose, STACK) for _ in range(2 if ctx.quick else 3)]
    with CountingProxy(ctx.lab.socket_path, ctx.workdir / "stack-proxy.sock") as proxy:
        stack_deploy(ctx, compose, STACK, docker_host=proxy.url)
        stack_counts = proxy.counts()
    noop_apply_rows = noop_apply.measure(ctx, folder, STACK, compose_for, stack_deploy)

    wall, cpu = summary(walls), summary(cpus)
    stack_wall = summary([s["wall_s"] for s in stack_noop])
    stack_cpu = summary([s["cpu_s"] for s in stack_noop])
    ctx.details["noop_scale"] = {
        "objects": counts, "load_manifests_s": summary(load_s), "compile_desired_s": summary(compile_s),
        "cold_apply": setup, "engine_pass_wall_s": wall, "engine_pass_cpu_s": cpu, "engine_pass_requests": requests,
        "engine_pass_writes": writes, "engine_pass_changes": lists, "engine_pass_via_proxy": by_proxy.as_dict(),
        "controller_pass_wall_s": summary(ctl_walls), "controller_pass_cpu_s": summary(ctl_cpus),
        "engine_profile_top": engine_profile, "controller_profile_top": controller_profile,
        "compile_desired_profile_top": compile_profile, "change_at_scale_s": summary(at_scale),
        "change_at_scale_woken_after_s": summary([w for w, _ in splits]),
        "change_at_scale_pass_s": summary([p for _, p in splits]),
        "stack_cold_deploy": stack_cold, "stack_noop_wall_s": stack_wall, "stack_noop_cpu_s": stack_cpu,
        "stack_noop_requests": stack_counts.as_dict(),
    }  # fmt: skip
    size = f"{counts['manifests']} manifests = {counts['swarm_objects']} Swarm objects"
    ctl_wall = summary(ctl_walls)["p50"] or 0
    one_list = all(n <= 1 for n in per_kind.values()) and other_reads == 0
    section = "I no-op engine pass at scale"
    rows = [
        Row(section, f"engine pass wall ({size})", wall["p50"], "s", stack_wall["p50"],
            "docker stack deploy of the same stack, unchanged", f"< {GOAL_S:.0f} s", (wall["p50"] or 0) < GOAL_S,
            f"{counts['services']} services + {counts['routes']} routes (labels) + {counts['networks']} networks + "
            f"{counts['configs']} configs; median of {passes} passes"),
        Row(section, "engine pass CPU (this process)", cpu["p50"], "s", stack_cpu["p50"], "CPU of the docker CLI process"),
        Row(section, "requests per pass", max(requests), "req", stack_counts.total,
            "requests the CLI sent (counting proxy)", "≤ 1 list per kind", one_list,
            "proxy saw " + ", ".join(f"{k} {v}" for k, v in per_kind.items()) + f", {other_reads} other reads"),
        Row(section, "writes per pass", max(writes), "req", stack_counts.writes, "POST/DELETE the CLI sent",
            "0", max(writes) == 0 and by_proxy.writes == 0,
            "stack: " + ", ".join(f"{r} ×{n}" for r, n in stack_counts.by_route.items() if not r.startswith(("GET", "HEAD")))),
        Row("E file change → Docker updated", f"p50 among {counts['manifests']} manifests ({len(at_scale)} changes)",
            (summary(at_scale)["p50"] or 0) * 1000, "ms", None, "", "p50 ≤ 150 ms",
            (summary(at_scale)["p50"] or 1) <= 0.15,
            (f"woken after {(summary([w for w, _ in splits])['p50'] or 0) * 1000:.0f} ms, the pass (load + "
             f"compile_desired + reconcile + the check after the write) "
             f"{(summary([p for _, p in splits])['p50'] or 0) * 1000:.0f} ms (p50); " if splits else "")
            + f"load_manifests alone {loaded:.2f} s, compile_desired {compiled:.2f} s (p50 of 3)"),
        Row(section, "controller pass (re-reads the folder)", ctl_wall, "s", stack_wall["p50"],
            "docker stack deploy, unchanged", f"< {GOAL_S:.0f} s", ctl_wall < GOAL_S,
            f"CPU {summary(ctl_cpus)['p50'] or 0:.2f} s; load_manifests alone {loaded:.2f} s (p50 of 3)"),
    ]  # fmt: skip
    for row in rows:  # the controller runs in this process; the stack's figures are the CLI process's
        row.compare = IN_PROCESS if row.baseline is None else IN_PROCESS_VS_PROCESS
    return [*noop_apply_rows, *rows]
