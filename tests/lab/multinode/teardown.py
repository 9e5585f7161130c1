"""Tearing the multi-node lab down: every process, mount, namespace, link and cgroup it made, then its folder,
and the host folders it created if nothing else uses them. Called by ``MultiNodeLab.down`` (``lab``),
also before a fresh start over a broken lab.

It touches only this lab's processes (found by path, namespace and cgroup), mounts under its folder and
``srl-*``/``srlab-*`` names, so the single-node lab beside it keeps running.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from tests.lab.engine import _remove_empty_tree
from tests.lab.host import RUN_DIRS, LabError, _alive, _comm, _pids, _signal, _stop, _wait_gone
from tests.lab.multinode.daemon import dockerd_pids, leftover_pids
from tests.lab.multinode.layout import MARKER, MULTI_NAME, STOP_TIMEOUT, Node
from tests.lab.multinode.namespaces import cgroup_dirs, cgroup_pids, remove_run_netns, unmount_all
from tests.lab.multinode.network import remove_network


def tear_down(
    root: Path, nodes: Sequence[Node], state: Mapping[str, Any], procs: Iterable[subprocess.Popen[bytes]]
) -> None:
    """Kill every node's dockerd, containerd, shims and containers, unmount what is left under ``root``,
    delete the namespaces, links and bridge, the cgroups and ``root``. Idempotent. ``state`` is lab.json
    (its ``host_before`` says which host folders were there before the lab); ``procs`` are the dockerds'
    Popen objects of this process, reaped here."""
    if root.exists() and not (root / MARKER).exists() and any(root.iterdir()):
        raise LabError(f"{root} exists but is not a multi-node lab folder (no {MARKER}); refusing")
    if os.geteuid() != 0:
        if not root.exists():
            return
        raise LabError("only root can tear the multi-node lab down")
    # Containers first (their stop grace periods would slow dockerd's shutdown), then the daemons.
    payload = cgroup_pids(f"/{MULTI_NAME}")
    _signal(payload, signal.SIGKILL)
    _wait_gone(payload, 10.0)
    dockerds = sorted({pid for n in nodes for pid in dockerd_pids(n)})
    _stop(dockerds, STOP_TIMEOUT)
    for n in nodes:
        _stop(leftover_pids(n), 10.0)
    for proc in procs:
        with contextlib.suppress(Exception):
            proc.wait(timeout=1)

    unmount_all(root)
    remove_network(nodes)
    for cg in cgroup_dirs(f"/{MULTI_NAME}"):
        with contextlib.suppress(OSError):
            cg.rmdir()
    before = state.get("host_before")
    if isinstance(before, dict):
        if before.get("run_netns") is False:
            remove_run_netns()
        # /run/docker and /run/containerd (shim sockets): only if empty and no other dockerd uses them.
        if not any(_comm(p) == "dockerd" and _alive(p) for p in _pids()):
            for run_dir in RUN_DIRS:
                if run_dir not in (before.get("run_dirs") or []):
                    _remove_empty_tree(Path(run_dir))
    if root.exists():
        shutil.rmtree(root)
