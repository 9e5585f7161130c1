"""Host plumbing for the lab: processes, cgroups, mounts, links and iptables, read from /proc and
the usual Debian tools. Used by ``tests.lab.engine``; standard library only.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

#: Name used for the containerd namespace, the cgroup parent of every lab container and the daemon label.
LAB_NAME = "srlab"
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
MNT_DETACH = 2
RUN_DIRS = ("/run/docker", "/run/containerd")
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: dockerd 20.10 always writes its engine key here, whatever --data-root says.
TRUST_KEY = "/etc/docker/key.json"


class LabError(RuntimeError):
    """The lab could not be installed, started, reused or stopped."""


def _search_path() -> str:
    return os.pathsep.join([os.environ.get("PATH", ""), SBIN_PATH])


def _which(name: str) -> str | None:
    return shutil.which(name, path=_search_path())


def _run(argv: Sequence[str], *, check: bool = False, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=_search_path(), LC_ALL="C")
    proc = subprocess.run(
        list(argv), capture_output=True, text=True, timeout=timeout, env=env, stdin=subprocess.DEVNULL
    )
    if check and proc.returncode != 0:
        out = (proc.stderr or proc.stdout).strip()
        raise LabError(f"`{shlex.join(argv)}` failed (exit {proc.returncode}): {out}")
    return proc


def _read(path: Path | str) -> str | None:
    try:
        return Path(path).read_text()
    except OSError:
        return None


def _argv(pid: int) -> list[str]:
    raw = None
    with contextlib.suppress(OSError):
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    if not raw:
        return []
    return [a.decode(errors="replace") for a in raw.rstrip(b"\0").split(b"\0")]


def _stat(pid: int) -> tuple[str, str, int] | None:
    """(comm, state, ppid) of a process, or None if it is gone."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return comm, fields[0], int(fields[1])


def _comm(pid: int) -> str:
    st = _stat(pid)
    return st[0] if st else ""


def _alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (a zombie child of ours is reaped here)."""
    if pid <= 0:
        return False
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
    st = _stat(pid)
    return st is not None and st[1] not in ("Z", "X")


def _pids() -> Iterator[int]:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            yield int(entry.name)


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid in _pids():
        st = _stat(pid)
        if st is not None:
            children.setdefault(st[2], []).append(pid)
    return children


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(children.get(child, []))
    return out


def _signal(pids: Sequence[int], sig: int) -> None:
    for pid in pids:
        if pid <= 0 or pid == os.getpid():  # kill(0) and kill(-1) signal whole groups, ourselves included
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _wait_gone(pids: Sequence[int], timeout: float) -> list[int]:
    """Wait until the processes are gone; return those still alive after timeout."""
    deadline = time.monotonic() + timeout
    left = [p for p in pids if _alive(p)]
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = [p for p in left if _alive(p)]
    return left


def _stop(pids: Sequence[int], timeout: float) -> None:
    """SIGTERM, bounded wait, then SIGKILL."""
    if not pids:
        return
    _signal(pids, signal.SIGTERM)
    left = _wait_gone(pids, timeout)
    if left:
        _signal(left, signal.SIGKILL)
        left = _wait_gone(left, 10.0)
    if left:
        raise LabError(f"processes {left} survived SIGKILL")


def _unescape_mount(path: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), path)


def _mounts_under(root: Path) -> list[str]:
    prefix = str(root).rstrip("/") + "/"
    found: list[str] = []
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        fields = line.split()
        if len(fields) > 4:
            mnt = _unescape_mount(fields[4])
            if mnt == str(root) or mnt.startswith(prefix):
                found.append(mnt)
    return found


#: ``0`` keeps the labs' Docker data on disk; else each lab's data root is a tmpfs (see ``mount_data_tmpfs``).
TMPFS_ENV = "RECONCILER_LAB_TMPFS"


def mount_data_tmpfs(path: Path) -> None:
    """Mount a tmpfs on ``path`` (a new, empty folder: the lab's data root, or a three-node lab's node
    folder, which holds that node's data root), unless one is mounted there already.

    ``--storage-driver vfs`` copies every image layer whole, so a lab's data root holds tens of thousands
    of files after the image tests: deleting them from disk took 40-80 s per lab at the end of a CI pass,
    where unmounting a tmpfs is instant (the lab's ``down`` unmounts everything under its folder, deepest
    first). In CI at their fullest: 3.4 GB for the lab, 1.7 GB per node of the three-node lab.
    ``RECONCILER_LAB_TMPFS=0`` keeps the data on disk."""
    if os.environ.get(TMPFS_ENV, "1") == "0" or os.path.ismount(path):
        return
    _run(["mount", "-t", "tmpfs", "-o", "mode=0711", LAB_NAME, str(path)], check=True)


def _umount(path: str) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.umount2(path.encode(), MNT_DETACH) != 0:
        err = ctypes.get_errno()
        if err not in (22, 2):  # EINVAL: no longer a mount point; ENOENT: gone
            raise LabError(f"umount {path}: {os.strerror(err)}")


# Coexistence with the multi-node lab (tests/lab/multinode/): which network namespace a process is in.
def _netns_inode(pid: int | str) -> int | None:
    """The inode of the network namespace of ``pid`` (or ``"self"``), or None if it cannot be read."""
    try:
        return os.stat(f"/proc/{pid}/ns/net").st_ino
    except OSError:
        return None


def _links() -> list[str]:
    try:
        return sorted(os.listdir("/sys/class/net"))
    except OSError:
        return []


def _iptables_rules(table: str, tool: str = "iptables") -> list[str]:
    """``-S`` of one table, with ``iptables`` or ``ip6tables`` (Engine 28 writes both)."""
    if _which(tool) is None:
        return []
    proc = _run([tool, "-w", "-t", table, "-S"])
    return proc.stdout.splitlines() if proc.returncode == 0 else []


def _docker_chains(tool: str = "iptables") -> list[str]:
    chains: list[str] = []
    for table in ("filter", "nat"):
        for line in _iptables_rules(table, tool):
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "-N" and parts[1].startswith("DOCKER"):
                chains.append(f"{table}:{parts[1]}")
    return chains


def _forward_policy() -> str | None:
    for line in _iptables_rules("filter"):
        parts = line.split()
        if parts[:2] == ["-P", "FORWARD"] and len(parts) == 3:
            return parts[2]
    return None


def _host_snapshot() -> dict[str, Any]:
    """What the host looks like before the lab starts: only what is missing here may be removed later."""
    return {
        "links": _links(),
        "docker_chains": _docker_chains(),
        "docker_chains6": _docker_chains("ip6tables"),
        # Each rule as "table: -A ...", for a host whose DOCKER chains were there before the lab.
        "rules": {
            tool: [f"{table}: {rule}" for table in ("filter", "nat", "raw") for rule in _iptables_rules(table, tool)]
            for tool in ("iptables", "ip6tables")
        },
        "forward_policy": _forward_policy(),
        "ip_forward": (_read(IP_FORWARD) or "").strip(),
        "run_dirs": [d for d in RUN_DIRS if os.path.exists(d)],
        "trust_key": os.path.exists(TRUST_KEY),
    }


def _cgroup_roots() -> list[str]:
    roots: list[str] = []
    for line in (_read("/proc/self/mounts") or "").splitlines():
        fields = line.split()
        if len(fields) > 2 and fields[2] in ("cgroup", "cgroup2"):
            roots.append(_unescape_mount(fields[1]))
    return roots


def _lab_cgroups() -> list[Path]:
    """The lab's cgroup folders (every container's cgroup parent is /srlab), deepest first."""
    dirs: list[Path] = []
    for root in _cgroup_roots():
        base = Path(root) / LAB_NAME
        if base.is_dir():
            dirs.extend(Path(d) for d, _, _ in os.walk(base))
    return sorted(dirs, key=lambda p: len(p.parts), reverse=True)


def _cgroup_pids() -> list[int]:
    pids: set[int] = set()
    for d in _lab_cgroups():
        for line in (_read(d / "cgroup.procs") or "").split():
            pids.add(int(line))
    pids.discard(0)  # a process of another pid namespace reads as 0 there: never a pid to signal
    return sorted(pids)


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._unix_path)
        self.sock = sock


def unix_request(socket_path: str, method: str, path: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    """One Engine API request over a unix socket: the status, and the JSON body (text if not JSON)."""
    conn = UnixHTTPConnection(socket_path, timeout)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    finally:
        conn.close()
    if not raw:
        return resp.status, None
    try:
        return resp.status, json.loads(raw)
    except ValueError:
        return resp.status, raw.decode(errors="replace")


# ---------------------------------------------------------------------------------------------- the lab
