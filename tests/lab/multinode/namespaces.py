"""Host plumbing of the multi-node lab: binaries, network namespaces (by inode), cgroups, mounts, and the
docker CLI environment for a node. Read from /proc, /sys/fs/cgroup and /run/netns; callers are the other
modules of ``tests.lab.multinode`` (the single-node lab's own plumbing is ``tests.lab.host``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path

from tests.lab.host import LabError, _cgroup_roots, _mounts_under, _read, _umount, _which
from tests.lab.multinode.layout import NETNS_DIR

#: Variables that would point the docker CLI somewhere other than DOCKER_HOST.
_DOCKER_TARGET_VARS = ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS")


def need(binary: str) -> str:
    path = _which(binary)
    if path is None:
        raise LabError(f"{binary} not found")
    return path


def docker_env(docker_host: str, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for the docker CLI that targets ``docker_host``, and nothing else."""
    env = dict(os.environ if base is None else base)
    for var in _DOCKER_TARGET_VARS:
        env.pop(var, None)
    env["DOCKER_HOST"] = docker_host
    return env


def ns_inode(path: str | os.PathLike[str]) -> int | None:
    """The inode of a namespace (a /proc/PID/ns/* link or a bind-mounted namespace file), or None if ``path``
    is no namespace (a plain file, or gone)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    nsfs = _ns_inode_dev()
    return st.st_ino if nsfs is not None and st.st_dev == nsfs else None


def _ns_inode_dev() -> int | None:
    try:
        return os.stat("/proc/self/ns/net").st_dev
    except OSError:
        return None


def netns_list() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []


def cgroup_dirs(parent: str) -> list[Path]:
    """Folders of the cgroup ``parent`` (e.g. ``/srlab-multi/node1``) in every hierarchy, deepest first."""
    dirs: list[Path] = []
    for root in _cgroup_roots():
        base = Path(root) / parent.strip("/")
        if base.is_dir():
            dirs.extend(Path(d) for d, _, _ in os.walk(base))
    return sorted(dirs, key=lambda p: len(p.parts), reverse=True)


def cgroup_pids(parent: str) -> list[int]:
    pids: set[int] = set()
    for d in cgroup_dirs(parent):
        for line in (_read(d / "cgroup.procs") or "").split():
            pids.add(int(line))
    return sorted(pids)


def unmount_all(*roots: Path) -> None:
    """Unmount everything under ``roots``, deepest first; a few rounds, as unmounting can uncover mounts."""
    for _ in range(5):
        mounts = [m for root in roots for m in _mounts_under(root)]
        if not mounts:
            return
        for mnt in sorted(set(mounts), key=len, reverse=True):
            _umount(mnt)
    left = [m for root in roots for m in _mounts_under(root)]
    if left:
        raise LabError(f"still mounted: {left}")


def remove_run_netns() -> None:
    """/run/netns, which ``ip netns add`` created (and bind-mounted onto itself), if it is empty now."""
    if not NETNS_DIR.is_dir() or any(NETNS_DIR.iterdir()):
        return
    while str(NETNS_DIR) in _mounts_under(NETNS_DIR):
        _umount(str(NETNS_DIR))
    with contextlib.suppress(OSError):
        NETNS_DIR.rmdir()
