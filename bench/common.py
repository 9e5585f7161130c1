"""What every benchmark shares: the lab, names, manifests, waits, statistics, cleanup and result rows.

Every object a benchmark creates belongs to the reconciler instance ``bench`` or has a name that starts
with ``bench-`` (stacks are named ``bench-…``, so their objects are ``bench-…_name``); ``cleanup`` removes
exactly those, and nothing else in the lab.
"""

from __future__ import annotations

import logging
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from reconciler.core.labels import MANAGED_BY
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.swarm.docker_api import DockerSwarm, connect
from reconciler.swarm.port import SwarmError
from tests.controller_thread import running
from tests.lab import Lab

__all__ = [
    "API",
    "INSTANCE",
    "IN_PROCESS",
    "IN_PROCESS_VS_PROCESS",
    "PREFIX",
    "PROCESS",
    "PROCESSES",
    "RUNS",
    "Context",
    "CountingSwarm",
    "Row",
    "cleanup",
    "doc",
    "median",
    "pass_split",
    "percentile",
    "reconciler_argv",
    "running_controller",
    "summary",
    "timed_process",
    "wait_for",
    "write_atomically",
]

INSTANCE = "bench"
PREFIX = "bench-"
API = "reconciler.swarm/v1alpha1"
DOCKER_CLIS = ("/usr/local/bin/docker", "/usr/bin/docker")

log = logging.getLogger("bench")


class CountingSwarm(DockerSwarm):
    """The reconciler's own adapter, also counting its requests by method (``requests`` counts all)."""

    def __init__(self, api: Any) -> None:
        super().__init__(api)
        self.by_method: Counter[str] = Counter()
        self._method_lock = threading.Lock()  # an apply writes from several threads

    def _call(self, method: str, path: str, call: Callable[[], Any]) -> Any:
        with self._method_lock:
            self.by_method[method] += 1
        return super()._call(method, path, call)

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m not in ("GET", "HEAD"))


@dataclass
class Row:
    """One line of the table: the reconciler's figure, its baseline measured in the same run, the goal."""

    section: str
    metric: str
    value: float | None
    unit: str
    baseline: float | None = None
    baseline_what: str = ""
    goal: str = ""
    met: bool | None = None
    note: str = ""
    compare: str = ""  # what is set against what: PROCESSES, IN_PROCESS_VS_PROCESS, IN_PROCESS

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.baseline:
            return None
        return self.value / self.baseline

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


PROCESSES = "process vs process"
PROCESS = "process"  # a process with no baseline
IN_PROCESS_VS_PROCESS = "in-process pass vs process"
IN_PROCESS = "in-process"
RUNS = 3  # every figure is the median of at least this many runs


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def timed_process(argv: list[str], env: dict[str, str] | None = None, timeout: float = 600,
                  ok: tuple[int, ...] = (0,)) -> float:  # fmt: skip
    """Wall seconds of one process run, from fork to exit; raises if it exits with a code not in ``ok``."""
    began = time.perf_counter()
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    took = time.perf_counter() - began
    if done.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv[:4])} … exited {done.returncode}: {(done.stderr or done.stdout)[-1500:]}")
    return took


def reconciler_argv(ctx: Context, *args: str) -> list[str]:
    """``python -m reconciler --docker-host <lab> --instance bench ARGS``."""
    return [sys.executable, "-m", "reconciler", "--docker-host", ctx.base_url, "--instance", INSTANCE, *args]


@dataclass
class Context:
    lab: Lab
    quick: bool
    workdir: Path
    busybox: str
    docker_cli: str
    details: dict[str, Any] = field(default_factory=dict)
    cache: Path | None = None  # kept across runs (the Ansible environment); None: nothing is kept

    @property
    def base_url(self) -> str:
        return self.lab.base_url

    def swarm(self, timeout: int = 30, url: str | None = None) -> CountingSwarm:
        return CountingSwarm(connect(url or self.base_url, timeout=timeout).api)

    def env(self, docker_host: str | None = None) -> dict[str, str]:
        env = self.lab.env()
        if docker_host:
            env["DOCKER_HOST"] = docker_host
        return env

    def folder(self, name: str) -> Path:
        path = self.workdir / name
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return path


def doc(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": API, "kind": kind, "metadata": {"name": name}, "spec": spec}


def write_atomically(path: Path, *documents: dict[str, Any]) -> None:
    """As a Git checkout does: write aside (a hidden file, which the loader skips), then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(yaml.safe_dump_all(documents, sort_keys=False))
    os.replace(tmp, path)


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.005) -> float | None:
    """Seconds until ``predicate()`` is true, polling every ``step``; None if it was not within ``timeout``."""
    began = time.perf_counter()
    while True:
        try:
            if predicate():
                return time.perf_counter() - began
        except (SwarmError, KeyError, TypeError):  # not there (yet)
            pass
        if time.perf_counter() - began > timeout:
            return None
        time.sleep(step)


def percentile(values: list[float], p: float) -> float | None:
    """The p-th percentile (0-100), linear between the nearest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    rank = (len(ordered) - 1) * p / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary(values: list[float]) -> dict[str, Any]:
    return {
        "n": len(values),
        "p50": percentile(values, 50),
        "p95": percentile(values, 95),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "mean": statistics.fmean(values) if values else None,
        "samples": [round(v, 6) for v in values],
    }


@contextmanager
def running_controller(
    folder: Path, swarm: DockerSwarm, resync_s: float = 3600.0, pass_log: list[tuple[float, float]] | None = None
) -> Iterator[Controller]:
    """``Controller.run`` in a thread of this process (no leader election), stopped on exit. With
    ``pass_log``, every pass appends its (start, end) ``perf_counter`` times to it."""
    ctl = Controller(ControllerConfig(folder, instance=INSTANCE, resync_s=resync_s, dependency_timeout_s=20), swarm)
    if pass_log is not None:
        original = ctl.pass_once

        def timed_pass() -> None:
            began = time.perf_counter()
            original()
            pass_log.append((began, time.perf_counter()))

        ctl.pass_once = timed_pass  # type: ignore[method-assign]
    with running(ctl):
        yield ctl


def pass_split(pass_log: list[tuple[float, float]], began: float, took: float) -> tuple[float, float] | None:
    """For a change written at ``began`` and seen converged ``took`` later: (seconds until the pass that
    applied it started, that pass's whole duration, its checks after the write included), from a
    ``running_controller`` pass log: the first pass that started between the write and the convergence."""
    done = began + took
    hit = [(s, e) for s, e in pass_log if began <= s <= done]
    return (hit[0][0] - began, hit[0][1] - hit[0][0]) if hit else None


def _ours(name: str, labels: dict[str, str] | None) -> bool:
    return name.startswith(PREFIX) or (labels or {}).get(MANAGED_BY) == INSTANCE


def cleanup(ctx: Context, timeout: float = 120.0) -> dict[str, int]:
    """Remove every service, config, secret and network of instance ``bench`` or named ``bench-…``."""
    swarm = ctx.swarm(timeout=60)
    removed: Counter[str] = Counter()
    deadline = time.monotonic() + timeout
    try:
        for service in swarm.get("/services"):
            if _ours(service["Spec"]["Name"], service["Spec"].get("Labels")):
                with suppress(SwarmError):
                    swarm.remove_service(service["ID"])
                    removed["service"] += 1
        for kind, remove in (("config", swarm.remove_config), ("secret", swarm.remove_secret)):
            pending = [c for c in swarm.get(f"/{kind}s") if _ours(c["Spec"]["Name"], c["Spec"].get("Labels"))]
            while pending and time.monotonic() < deadline:
                left = []
                for item in pending:
                    try:
                        remove(item["ID"])
                        removed[kind] += 1
                    except SwarmError as exc:
                        if "not found" not in str(exc):
                            left.append(item)  # still used by a task that is stopping
                pending = left
                if pending:
                    time.sleep(0.2)
        gone: set[str] = set()
        while time.monotonic() < deadline:
            networks = [n for n in swarm.get("/networks") if _ours(n["Name"], n.get("Labels"))]
            if not networks:
                break
            for network in networks:
                try:
                    swarm.remove_network(network["Id"])
                    gone.add(network["Id"])
                except SwarmError:
                    pass  # in use until the last task has stopped; a removed one stays listed a moment
            time.sleep(0.2)
        removed["network"] = len(gone)
    finally:
        swarm.close()
    return {kind: n for kind, n in removed.items() if n}
