"""One node of the multi-node lab: its dockerd's folders and UTS namespace, command line, start, Engine API,
processes and stop. A node is a ``layout.Node``; ``MultiNodeLab`` (``lab``) calls these for each node and
keeps the lab-wide state (lab.json, the Popen objects).

Each dockerd is started as ``nsenter --net=/run/netns/srlab-nodeN --uts=<root>/ns/nodeN.uts -- dockerd ...``
(``ip netns exec`` would remount /sys in a mount namespace of its own and hide the cgroup hierarchy).
It shares the host's mount namespace and cgroup tree, so everything that is a path is per node: data and
exec roots, pidfile, key, containerd namespace and the cgroup parent ``/srlab-multi/nodeN``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import time
from typing import Any

from tests.lab.engine import DEAD_PROXY, SHUTDOWN_TIMEOUT
from tests.lab.engines import engine_install, requested_engine
from tests.lab.host import (
    LabError,
    _alive,
    _argv,
    _comm,
    _pids,
    _read,
    _run,
    _signal,
    _stop,
    _wait_gone,
    mount_data_tmpfs,
    unix_request,
)
from tests.lab.multinode.layout import MULTI_NAME, Node
from tests.lab.multinode.namespaces import cgroup_pids, need, ns_inode, unmount_all

# ------------------------------------------------------------------------------------------- the API


def request(n: Node, method: str, path: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    return unix_request(str(n.socket_path), method, path, body, timeout)


def ping(n: Node) -> bool:
    try:
        status, body = request(n, "GET", "/_ping", timeout=2.0)
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and body == "OK"


def info(n: Node) -> dict[str, Any]:
    status, body = request(n, "GET", "/info")
    if status != 200 or not isinstance(body, dict):
        raise LabError(f"GET /info on {n.name} answered {status}: {body}")
    return body


# -------------------------------------------------------------------------------------------- start


def nsenter_argv(n: Node) -> list[str]:
    """The argv prefix that runs a command in the node's network and UTS namespaces."""
    return [need("nsenter"), f"--net={n.netns_path}", f"--uts={n.uts_file}", "--"]


def prepare(n: Node) -> None:
    """Folders of a node, and its UTS namespace (bind-mounted on ``ns/nodeN.uts``) named nodeN."""
    n.dir.mkdir(parents=True, exist_ok=True)
    # The whole node folder, not its data root: stopping a node (``stop_node``, a restart or a power cut)
    # unmounts data/ and exec/ themselves and all under them, and the node must find its data again.
    mount_data_tmpfs(n.dir)
    for folder in (n.data_dir, n.exec_dir, n.uts_file.parent):
        folder.mkdir(parents=True, exist_ok=True)
    # Its own daemon.json (not /etc/docker's), whose only setting is its own engine key: dockerd 20.10
    # writes /etc/docker/key.json otherwise, and every node would share one engine ID.
    n.config_file.write_text(json.dumps({"deprecated-key-path": str(n.key_file)}) + "\n")
    if ns_inode(n.uts_file) is None:
        n.uts_file.touch()
        _run([need("unshare"), f"--uts={n.uts_file}", need("hostname"), n.name], check=True)
    got = _run([*nsenter_argv(n), need("hostname")], check=True).stdout.strip()
    if got != n.name:
        raise LabError(f"the UTS namespace of {n.name} says hostname {got!r}")


def dockerd_argv(n: Node, token: str) -> list[str]:
    """The node's dockerd command line, prefixed by the nsenter that puts it in the node's namespaces."""
    return [
        *nsenter_argv(n),
        engine_install(requested_engine()).dockerd,
        "--storage-driver=vfs",
        "--data-root", str(n.data_dir),
        "--exec-root", str(n.exec_dir),
        "--host", n.base_url,
        "--pidfile", str(n.pid_file),
        "--config-file", str(n.config_file),
        "--containerd-namespace", f"{MULTI_NAME}-{n.name}",
        "--containerd-plugins-namespace", f"{MULTI_NAME}-{n.name}-plugins",
        "--cgroup-parent", n.cgroup_parent,
        "--iptables=true",
        f"--shutdown-timeout={SHUTDOWN_TIMEOUT}",
        "--label", f"{MULTI_NAME}.token={token}",
        "--label", f"{MULTI_NAME}.node={n.name}",
    ]  # fmt: skip


def spawn(n: Node, token: str) -> subprocess.Popen[bytes]:
    """Start the node's dockerd in the background (its output appended to ``dockerd.log``). nsenter execs
    dockerd: the Popen's pid is the dockerd's."""
    env = {
        "PATH": engine_install(requested_engine()).path,  # the engine's own docker-proxy and containerd
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "HTTP_PROXY": DEAD_PROXY,  # any registry access fails at once instead of leaving the machine
        "HTTPS_PROXY": DEAD_PROXY,
        "NO_PROXY": "localhost,127.0.0.0/8,::1",
        "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE": "1",  # swarm tasks use the local image, no registry pull
    }
    with n.log_file.open("ab") as log:
        return subprocess.Popen(
            dockerd_argv(n, token),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=n.dir,
            start_new_session=True,
            close_fds=True,
        )


def wait_answering(n: Node, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """Wait until the node's dockerd answers ``/_ping``; fail at once if ``proc`` (its Popen) exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise LabError(f"dockerd of {n.name} exited with status {proc.returncode} while starting")
        if ping(n):
            return
        time.sleep(0.1)
    raise LabError(f"dockerd of {n.name} did not answer /_ping on {n.socket_path} within {timeout:.0f} s")


def running(n: Node, pid: int | None, token: object) -> bool:
    """True if ``pid`` (as lab.json records it) is the node's dockerd, alive, and answers with ``token``."""
    if pid is None or not _alive(pid) or _comm(pid) != "dockerd" or str(n.exec_dir) not in _argv(pid):
        return False
    if not ping(n):
        return False
    try:
        labels = info(n).get("Labels") or []
    except (OSError, http.client.HTTPException, LabError):
        return False
    return f"{MULTI_NAME}.token={token}" in labels


def log_tail(n: Node, lines: int = 25) -> str:
    return "\n".join((_read(n.log_file) or "").splitlines()[-lines:])


# -------------------------------------------------------------------------------------- processes


def dockerd_pids(n: Node) -> list[int]:
    exec_dir = str(n.exec_dir)
    return [pid for pid in _pids() if _comm(pid) == "dockerd" and exec_dir in _argv(pid) and _alive(pid)]


def leftover_pids(n: Node) -> list[int]:
    """Every other process of the node: its containerd and shims (by their paths), processes in its
    network or UTS namespace (docker-proxy, host-network containers) and in its cgroup (containers)."""
    config = str(n.exec_dir / "containerd" / "containerd.toml")
    address = str(n.containerd_sock)
    namespaces = {ino for ino in (ns_inode(n.netns_path), ns_inode(n.uts_file)) if ino is not None}
    found = set(cgroup_pids(n.cgroup_parent))
    for pid in _pids():
        if pid == os.getpid():
            continue
        argv = _argv(pid)
        in_ns = {ns_inode(f"/proc/{pid}/ns/net"), ns_inode(f"/proc/{pid}/ns/uts")} & namespaces
        if config in argv or address in argv or in_ns:
            found.add(pid)
    return sorted(p for p in found if _alive(p))


# -------------------------------------------------------------------------------------------- stop


def stop(n: Node, sig: int, timeout: float, recorded_pid: int | None, proc: subprocess.Popen[bytes] | None) -> None:
    """Stop the node's dockerd (and ``recorded_pid``, lab.json's, if that is a dockerd) with ``sig``; its
    data stays.

    SIGTERM: dockerd shuts down cleanly (stopping its containers within their grace periods).
    SIGKILL: a power cut: dockerd, its containerd, shims, containers and docker-proxies are all killed,
    their mounts under the node's folder are dropped and its exec root is emptied, as after a reboot."""
    dockerds = set(dockerd_pids(n))
    if recorded_pid is not None and _alive(recorded_pid) and _comm(recorded_pid) == "dockerd":
        dockerds.add(recorded_pid)
    if sig == signal.SIGKILL:
        _signal(sorted(dockerds), signal.SIGKILL)
        _wait_gone(sorted(dockerds), 10.0)
        left = leftover_pids(n)
        _signal(left, signal.SIGKILL)
        if _wait_gone(left, 10.0):
            raise LabError(f"processes of {n.name} survived SIGKILL")
    else:
        _signal(sorted(dockerds), sig)
        if _wait_gone(sorted(dockerds), timeout):
            _signal(sorted(dockerds), signal.SIGKILL)
            _wait_gone(sorted(dockerds), 10.0)
        _stop(leftover_pids(n), 10.0)
    if proc is not None:
        with contextlib.suppress(Exception):
            proc.wait(timeout=1)
    unmount_all(n.data_dir, n.exec_dir)
    if sig == signal.SIGKILL and n.exec_dir.is_dir():
        # After a power cut /run is empty: no stale netns files, task bundles or shim state.
        shutil.rmtree(n.exec_dir)
        n.exec_dir.mkdir()
    remove_stale_pidfiles(n)


def remove_stale_pidfiles(n: Node) -> None:
    """Pid files of a node whose processes are gone. dockerd refuses to start while its pidfile exists, and
    a killed containerd may linger as a zombie for a moment: a restarted dockerd that found its pid in
    containerd.pid would wait for that one instead of starting its own (and time out)."""
    for stale in (n.pid_file, n.exec_dir / "containerd" / "containerd.pid"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
