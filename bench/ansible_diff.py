"""B. ``reconciler diff`` of 50 unchanged services (a process) against Ansible's ``community.docker``
``docker_swarm_service`` in ``--check --diff`` mode (a process): both read the same 50 live services
and report that nothing would change. Like with like: whole processes, each the median of 3 runs.

Ansible is installed by the bench into a virtual environment of its own under the bench's work
folder (``<work>/ansible/venv``: the ``ansible`` package from the package registry, which ships
``community.docker``, plus the ``docker`` SDK the module needs); the install is kept across runs (a
``.installed`` marker says it finished). When it cannot be installed (no registry), the row says so
and the reconciler's figure stands alone. The playbook is written from the live services (image,
replicas, labels, network), so Ansible too finds nothing to change; its recap is checked for that.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import (
    INSTANCE,
    PROCESSES,
    RUNS,
    Context,
    Row,
    doc,
    median,
    reconciler_argv,
    timed_process,
    write_atomically,
)
from reconciler.engine.reconcile import reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired

SERVICES = 50
NETWORK = "bench-diff-net"
GOAL_S = 0.25
GOAL_RATIO = 150.0
_RECAP = re.compile(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def ensure_ansible(ctx: Context) -> tuple[Path | None, str]:
    """The venv's ``ansible-playbook``, installing it once; (None, why) when it cannot be had."""
    if ctx.cache is None:
        return None, "no work folder kept across runs (--work)"
    venv = ctx.cache / "ansible" / "venv"
    playbook = venv / "bin" / "ansible-playbook"
    if (venv / ".installed").exists() and playbook.exists():
        return playbook, "installed earlier"
    venv.parent.mkdir(parents=True, exist_ok=True)
    print(f"   installing Ansible into {venv} (once; kept for later runs) ...", flush=True)
    steps = ([sys.executable, "-m", "venv", "--clear", str(venv)],
             [str(venv / "bin" / "pip"), "install", "-q", "ansible", "docker", "requests"])  # fmt: skip
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, timeout=900, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
            return None, f"Ansible could not be installed ({' '.join(step[:3])}: {tail[0][:200]})"
    (venv / ".installed").touch()
    return playbook, "installed now"


def _write(ctx: Context, folder: Path) -> None:
    write_atomically(folder / "network.yaml", doc("Network", NETWORK, {}))
    for i in range(SERVICES):
        name = f"bench-diff-{i:02d}"
        spec = {"image": ctx.busybox, "replicas": 0, "networks": [NETWORK], "labels": {"bench.index": str(i)}}
        write_atomically(folder / f"{name}.yaml", doc("Service", name, spec))


def _playbook(ctx: Context, path: Path) -> None:
    """One ``docker_swarm_service`` task per live service, saying what it already is."""
    swarm = ctx.swarm()
    try:
        services = [s for s in swarm.get("/services") if s["Spec"]["Name"].startswith("bench-diff-")]
    finally:
        swarm.close()
    tasks: list[dict[str, Any]] = []
    for service in sorted(services, key=lambda s: s["Spec"]["Name"]):
        spec = service["Spec"]
        tasks.append({
            "name": spec["Name"],
            "community.docker.docker_swarm_service": {
                "docker_host": ctx.base_url, "name": spec["Name"],
                "image": spec["TaskTemplate"]["ContainerSpec"]["Image"], "replicas": 0, "resolve_image": False,
                "labels": spec.get("Labels") or {}, "networks": [NETWORK],
            },
        })  # fmt: skip
    play = [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]
    path.write_text(yaml.safe_dump(play, sort_keys=False))


def run(ctx: Context) -> list[Row]:
    folder = ctx.folder("diff50/manifests")
    _write(ctx, folder)
    swarm = ctx.swarm(timeout=120)
    try:
        created = reconcile_once(swarm, compile_desired(load_manifests(folder), INSTANCE), dependency_timeout=30)
    finally:
        swarm.close()
    if not created.converged:
        raise RuntimeError(f"the 50 services were not created: {created.applied.counts()}")
    ours = [timed_process(reconciler_argv(ctx, "diff", str(folder))) for _ in range(RUNS)]
    value = median(ours)
    details: dict[str, Any] = {"services": SERVICES, "reconciler_diff_s": ours}
    ctx.details["ansible_diff"] = details
    section, metric = "B diff, 50 unchanged services", "`reconciler diff`"
    goal = f"≤ {GOAL_S} s and ≥ {GOAL_RATIO:.0f}× Ansible"
    playbook, why = ensure_ansible(ctx)
    details["ansible"] = why
    if playbook is None:
        print(f"   Ansible skipped: {why}", flush=True)
        return [Row(section, metric, value, "s", None, "Ansible: skipped", goal, None,
                    f"Ansible skipped: {why}", PROCESSES)]  # fmt: skip
    book = ctx.workdir / "diff50" / "playbook.yml"
    _playbook(ctx, book)
    venv = playbook.parent.parent
    env = {**os.environ, "ANSIBLE_PYTHON_INTERPRETER": str(venv / "bin" / "python"),
           "ANSIBLE_HOME": str(venv.parent / "home"), "ANSIBLE_LOCAL_TEMP": str(ctx.workdir / "ansible-tmp"),
           "ANSIBLE_NOCOLOR": "1", "ANSIBLE_DEPRECATION_WARNINGS": "0"}  # fmt: skip
    argv = [str(playbook), "-i", "localhost,", "--check", "--diff", str(book)]
    theirs: list[float] = []
    changed: list[int] = []
    for _ in range(RUNS if not ctx.quick else 1):
        began = time.perf_counter()
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
        theirs.append(time.perf_counter() - began)
        recap = _RECAP.search(done.stdout)
        if done.returncode != 0 or recap is None:
            raise RuntimeError(f"ansible-playbook exited {done.returncode}: {done.stdout[-1500:]}{done.stderr[-500:]}")
        changed.append(int(recap.group(2)))
    version = subprocess.run([str(venv / "bin" / "ansible"), "--version"], capture_output=True, text=True,
                             timeout=60, check=False).stdout.splitlines()[:1]  # fmt: skip
    details.update(ansible_check_diff_s=theirs, ansible_changed=changed, ansible_version=version)
    base = median(theirs)
    return [
        Row(section, metric, value, "s", base, "Ansible community.docker `--check --diff`", goal,
            value <= GOAL_S and base / value >= GOAL_RATIO,
            f"Ansible {version[0] if version else '?'} (median of {len(theirs)}), found {max(changed)} to change; "
            f"reconciler {base / value:.0f}× faster", PROCESSES),
    ]  # fmt: skip
