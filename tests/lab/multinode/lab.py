"""``MultiNodeLab``: the multi-node lab as the tests and ``python -m tests.lab multi`` use it. It holds the
lab-wide state (the folder, lab.json, the dockerds' Popen objects), answers questions about nodes by name
or number, and strings the other modules together: ``network`` and ``daemon`` to start, ``cluster`` to
form and wait for the swarm, ``images`` to copy images in, ``teardown`` to remove it all.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.lab.engine import Lab
from tests.lab.folder import check_socket_paths, lab_folder, read_state, update_state, write_state
from tests.lab.host import RUN_DIRS, LabError, _which
from tests.lab.images import BUSYBOX_IMAGE, ensure_busybox_image
from tests.lab.multinode import cluster, daemon, images, network
from tests.lab.multinode.layout import (
    DEFAULT_MULTILAB_DIR,
    HOST_ADDR,
    HOST_IFACE,
    LAB_SUBNET,
    MARKER,
    MAX_NODES,
    MULTILAB_DIR_ENV,
    NETNS_DIR,
    NODE_IFACE,
    START_TIMEOUT,
    STOP_TIMEOUT,
    SWARM_TIMEOUT,
    Node,
    make_node,
)
from tests.lab.multinode.namespaces import docker_env
from tests.lab.multinode.teardown import tear_down

if TYPE_CHECKING:
    import docker


class MultiNodeLab:
    """Three (``nodes``) Swarm managers, each a dockerd in its own network and UTS namespace, in one swarm.

    ``up()`` starts it (or reuses a healthy running one, restarting nodes that were stopped); ``down()``
    removes everything. Nodes are named ``node1``..``nodeN``; methods take the name or the number.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, nodes: int = 3) -> None:
        path = lab_folder(root, MULTILAB_DIR_ENV, DEFAULT_MULTILAB_DIR, "multi-node lab folder")
        if not 1 <= nodes <= MAX_NODES:
            raise LabError(f"nodes must be between 1 and {MAX_NODES}, got {nodes}")
        self.root = path
        self.state_file = path / "lab.json"
        self._nodes = [make_node(path, i) for i in range(1, nodes + 1)]
        #: True once this object started the lab itself; False when ``up()`` reused a running one.
        self.started = False
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        check_socket_paths(sock for n in self._nodes for sock in (n.socket_path, n.containerd_sock))

    def __repr__(self) -> str:
        return f"MultiNodeLab(root={str(self.root)!r}, nodes={len(self._nodes)})"

    # ------------------------------------------------------------------------------------------ access

    @property
    def node_names(self) -> list[str]:
        return [n.name for n in self._nodes]

    @property
    def host_ip(self) -> str:
        """The host's own address on the lab subnet (the nodes can reach it; it reaches theirs)."""
        return HOST_ADDR

    def _node(self, node: str | int) -> Node:
        for candidate in self._nodes:
            if node in (candidate.name, candidate.index):
                return candidate
        raise LabError(f"no node {node!r} in this lab (nodes: {', '.join(self.node_names)})")

    @property
    def node_iface(self) -> str:
        """The name of every node's lab interface inside its network namespace (``eth0``)."""
        return NODE_IFACE

    def node_netns(self, node: str | int) -> str:
        """The name of the node's network namespace (``ip -n srlab-nodeN ...``)."""
        return self._node(node).netns

    def node_ip(self, node: str | int) -> str:
        """The node's address on the lab subnet (its swarm advertise and data-path address)."""
        return self._node(node).ip

    def socket_path(self, node: str | int) -> Path:
        return self._node(node).socket_path

    def base_url(self, node: str | int) -> str:
        return self._node(node).base_url

    def client(self, node: str | int, timeout: int = 60) -> docker.DockerClient:
        """A docker SDK client for the node's socket (API version negotiated with the daemon)."""
        import docker

        return docker.DockerClient(base_url=self.base_url(node), version="auto", timeout=timeout)

    def env(self, node: str | int, base: dict[str, str] | None = None) -> dict[str, str]:
        """An environment for the docker CLI that targets the node's dockerd, and nothing else."""
        return docker_env(self.base_url(node), base)

    def nsenter_argv(self, node: str | int) -> list[str]:
        """The argv prefix that runs a command in the node's network and UTS namespaces, e.g.
        ``[*lab.nsenter_argv("node1"), "ip", "addr"]``."""
        return daemon.nsenter_argv(self._node(node))

    def dockerd_args(self, node: str | int, token: str) -> list[str]:
        """The node's dockerd command line, prefixed by the nsenter that puts it in the node's namespaces."""
        return daemon.dockerd_argv(self._node(node), token)

    def state(self) -> dict[str, Any] | None:
        """The content of lab.json, or None if there is none (or it is unreadable)."""
        return read_state(self.state_file)

    def pid(self, node: str | int) -> int | None:
        """The pid of the node's dockerd as lab.json records it (it may have been stopped since)."""
        state = self.state() or {}
        pid = ((state.get("nodes") or {}).get(self._node(node).name) or {}).get("pid")
        return pid if isinstance(pid, int) else None

    def log_tail(self, node: str | int, lines: int = 25) -> str:
        return daemon.log_tail(self._node(node), lines)

    # ---------------------------------------------------------------------------------------- the API

    def ping(self, node: str | int) -> bool:
        return daemon.ping(self._node(node))

    def info(self, node: str | int) -> dict[str, Any]:
        return daemon.info(self._node(node))

    def node_id(self, node: str | int) -> str:
        """The swarm node ID of the node (from its own dockerd)."""
        node_id = (self.info(node).get("Swarm") or {}).get("NodeID")
        if not node_id:
            raise LabError(f"{self._node(node).name} is not in a swarm")
        return str(node_id)

    def swarm_nodes(self, via: str | int | None = None) -> list[dict[str, Any]]:
        """``GET /nodes`` (as ``docker node ls``) from ``via``, or from the first node whose manager answers."""
        return cluster.swarm_nodes([self._node(via)] if via is not None else self._nodes)

    def wait_ready(self, nodes: Iterable[str | int] | None = None, timeout: float = SWARM_TIMEOUT) -> None:
        """Wait until a manager lists all the lab's nodes and ``nodes`` (default: all) are Ready, reachable
        managers."""
        expected = [self._node(n).name for n in nodes] if nodes is not None else self.node_names
        cluster.wait_ready(self._nodes, expected, timeout)

    # ------------------------------------------------------------------------------------------ health

    def node_running(self, node: str | int) -> bool:
        """True if the node's dockerd recorded in lab.json is alive, ours, and answers with the lab token."""
        n = self._node(node)
        return daemon.running(n, self.pid(n.name), (self.state() or {}).get("token"))

    def _reusable(self) -> bool:
        """lab.json, marker and network of a lab with the same nodes: its dockerds may be (re)started."""
        state = self.state()
        if not state or not (self.root / MARKER).exists() or not state.get("token"):
            return False
        if sorted((state.get("nodes") or {}).keys()) != sorted(self.node_names):
            return False
        return network.network_present(self._nodes)

    def is_running(self) -> bool:
        """True if every node's dockerd is up (the swarm may still be settling)."""
        return self._reusable() and all(self.node_running(n.name) for n in self._nodes)

    # ------------------------------------------------------------------------------------------- setup

    def up(self) -> MultiNodeLab:
        """Start the lab (or reuse the running one, restarting stopped nodes) and wait until all nodes are
        Ready managers of one swarm with ``lab/busybox:1``. Returns self."""
        if os.geteuid() != 0:
            raise LabError("the multi-node lab needs root")
        self._ensure_installed()
        if self._reusable():
            try:
                self.start_nodes(self.node_names, wait=False)  # those that were stopped or died
                self.wait_ready()
                self._ensure_images()
                self.started = False
                return self
            except LabError:
                pass  # not healthy after all: start afresh
        network.refuse_other_multilab(self.root)
        if self.root.exists() or network.leftovers_present(self._nodes):
            self.down()
        self._start()
        return self

    @staticmethod
    def _ensure_installed() -> None:
        missing = [b for b in ("dockerd", "containerd", "runc", "docker", "ip", "iptables") if _which(b) is None]
        if missing:
            Lab().ensure_installed()  # apt-get install docker.io iproute2
        missing = [b for b in ("dockerd", "docker", "ip", "nsenter", "unshare", "hostname") if _which(b) is None]
        if missing:
            raise LabError(f"the multi-node lab needs {', '.join(missing)} (docker.io, iproute2, util-linux)")

    def _start(self) -> None:
        began = time.monotonic()
        host_before = {
            "run_netns": NETNS_DIR.exists(),
            "run_dirs": [d for d in RUN_DIRS if os.path.exists(d)],
        }
        token = secrets.token_hex(16)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o711)
        (self.root / MARKER).write_text(
            "swarm-reconciler multi-node lab: `python -m tests.lab multi down` deletes this\n"
        )
        self._write_state(
            {
                "token": token,
                "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "root": str(self.root),
                "subnet": LAB_SUBNET,
                "host_ip": HOST_ADDR,
                "nodes": {n.name: {"pid": None, "ip": n.ip, "socket": str(n.socket_path)} for n in self._nodes},
                "host_before": host_before,
            }
        )
        self.started = True
        try:
            network.setup_network(self._nodes)
            for n in self._nodes:
                daemon.prepare(n)
            for n in self._nodes:
                self._spawn(n, token)
            for n in self._nodes:
                daemon.wait_answering(n, self._procs.get(n.name), START_TIMEOUT)
            cluster.form_swarm(self._nodes)
            self.wait_ready()
            self._ensure_images()
            self._update_state(up_seconds=round(time.monotonic() - began, 1))
        except BaseException as exc:
            detail = "\n".join(f"--- {n.name}/dockerd.log ---\n{self.log_tail(n.name, 12)}" for n in self._nodes)
            with contextlib.suppress(Exception):
                self.down()
            if isinstance(exc, LabError):
                raise LabError(f"{exc}\n{detail}") from exc
            raise

    def _spawn(self, n: Node, token: str) -> None:
        """Start the node's dockerd and record its pid in lab.json."""
        proc = daemon.spawn(n, token)
        self._procs[n.name] = proc
        state = self.state() or {}
        nodes = state.setdefault("nodes", {})
        nodes.setdefault(n.name, {"ip": n.ip, "socket": str(n.socket_path)})["pid"] = proc.pid
        self._write_state(state)

    def _ensure_images(self) -> None:
        """``lab/busybox:1`` on every node: built on node1 with the single-node lab's helper, copied to the
        others (so that it has the same ID everywhere)."""
        first = self._nodes[0]
        ensure_busybox_image(self.env(first.name))
        self.load_image(BUSYBOX_IMAGE, source=first.base_url)

    # ---------------------------------------------------------------------------------------- images

    def image_id(self, node: str | int, name: str) -> str | None:
        """The ID of image ``name`` on the node, or None if it has none."""
        return images.image_id(self._node(node), name)

    def load_image(self, name: str, source: Lab | str | None = None, nodes: Iterable[str | int] | None = None) -> str:
        """Copy image ``name`` into every node (or ``nodes``) that lacks it: one ``docker save`` from the source
        engine streamed into a ``docker load`` per node, chunk by chunk (never whole in memory).

        ``source`` is a ``Lab`` or a ``DOCKER_HOST`` URL; default: the single-node lab (``Lab()``), which
        must be running. Returns the image ID, which is then the same on the source and every node."""
        src_env = images.source_env(source)
        targets = [self._node(n) for n in nodes] if nodes is not None else list(self._nodes)
        return images.load_image(name, src_env, targets)

    # ------------------------------------------------------------------------------------- node control

    def stop_node(self, node: str | int, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> float:
        """Stop the node's dockerd, as for a failover test; its data stays for ``start_node``.

        SIGTERM: dockerd shuts down cleanly (stopping its containers within their grace periods).
        SIGKILL: a power cut: dockerd, its containerd, shims, containers and docker-proxies are all killed,
        their mounts under the node's folder are dropped and its exec root is emptied, as after a reboot.
        Returns the seconds it took."""
        n = self._node(node)
        began = time.monotonic()
        daemon.stop(n, sig, timeout, self.pid(n.name), self._procs.pop(n.name, None))
        return time.monotonic() - began

    def start_node(self, node: str | int, wait: bool = True, timeout: float = SWARM_TIMEOUT) -> float:
        """Start the node's dockerd again on its data (after ``stop_node``) and wait until it answers; with
        ``wait``, until it is a Ready, reachable manager again. Returns the seconds it took."""
        return self.start_nodes([node], wait=wait, timeout=timeout)

    def start_nodes(self, nodes: Iterable[str | int], wait: bool = True, timeout: float = SWARM_TIMEOUT) -> float:
        """``start_node`` for several nodes at once. They are all spawned before any is waited for: a manager
        that cannot reach a quorum holds its API back for 20 s (dockerd's swarm start timeout)."""
        state = self.state()
        if state is None or not state.get("token") or not network.network_present(self._nodes):
            raise LabError("the multi-node lab is not set up; run up() first")
        began = time.monotonic()
        todo = [n for n in dict.fromkeys(self._node(node) for node in nodes) if not self.node_running(n.name)]
        for n in todo:
            if daemon.dockerd_pids(n) or daemon.leftover_pids(n):
                self.stop_node(n.name, signal.SIGKILL)  # a wedged or half-dead node: clear it as after a crash
            else:
                daemon.remove_stale_pidfiles(n)  # e.g. its dockerd was killed by someone else
            self._spawn(n, str(state["token"]))
        for n in todo:
            daemon.wait_answering(n, self._procs.get(n.name), START_TIMEOUT)
        if wait and todo:
            self.wait_ready(timeout=timeout)
        return time.monotonic() - began

    # ------------------------------------------------------------------------------------------- down

    def down(self) -> None:
        """Remove the whole lab (``teardown.tear_down``). Idempotent; touches only this lab's processes (by
        path, namespace and cgroup), mounts and ``srl-*``/``srlab-*`` names."""
        tear_down(self.root, self._nodes, self.state() or {}, list(self._procs.values()))
        self._procs.clear()
        self.started = False

    # ------------------------------------------------------------------------------------------ status

    def _write_state(self, state: dict[str, Any]) -> None:
        write_state(self.state_file, state)

    def _update_state(self, **changes: Any) -> None:
        update_state(self.state_file, **changes)

    def status(self) -> dict[str, Any]:
        """A summary for humans: the network, and per node its pid, address, socket and swarm state."""
        state = self.state() or {}
        present = network.network_present(self._nodes)
        out: dict[str, Any] = {
            "root": str(self.root),
            "running": self.is_running(),
            "created": state.get("created"),
            "cold_up_seconds": state.get("up_seconds"),
            "network": f"{LAB_SUBNET} host {HOST_ADDR} on {HOST_IFACE}" if present else None,
        }
        for n in self._nodes:
            line = f"{n.ip} pid {self.pid(n.name)} {n.base_url}"
            if self.node_running(n.name):
                swarm = self.info(n.name).get("Swarm") or {}
                line += f" swarm {swarm.get('LocalNodeState')} control {swarm.get('ControlAvailable')}"
            else:
                line += " (not running)"
            out[n.name] = line
        if out["running"]:
            out["swarm_nodes"] = ", ".join(
                f"{(e.get('Description') or {}).get('Hostname')}={(e.get('Status') or {}).get('State')}"
                f"/{(e.get('ManagerStatus') or {}).get('Reachability')}"
                for e in self.swarm_nodes()
            )
        return out
