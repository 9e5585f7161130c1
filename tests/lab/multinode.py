"""A multi-node lab: several Docker Swarm managers on this one machine, each a dockerd in its own network
and UTS namespace, linked by a bridge in a namespace of their own, joined into one swarm.

Layout (addresses on a private lab subnet that nothing else here uses; every interface the host or the bridge
namespace sees is named ``srl-*``)::

    host netns      srl-host     10.213.7.1/24   (veth into the bridge namespace: tests on the host reach
                                                  the nodes' addresses, e.g. a published port)
    netns srlab-br  srl-br0      10.213.7.254/24 (a Linux bridge; forwarding off, so the nodes' default route
                                                  ends here and no node traffic leaves the lab)
                    srl-host-br, srl-nN-br       (bridge ports)
    netns srlab-nodeN  eth0      10.213.7.1N/24  (default route via 10.213.7.254; hostname nodeN)

A node's interface is ``eth0`` in every node, as on a real machine: per-node settings that name one
interface for all nodes (a VirtualIP's ``interface: eth0``) work unchanged, and the name is invisible
outside the node's namespace.

The whole state lives in one folder (default ``/var/tmp/srlab-multi``, or ``$RECONCILER_MULTILAB_DIR``)::

    lab.json            token, created time, node pids, what the host looked like before the lab
    ns/nodeN.uts        the node's UTS namespace (a bind mount: its hostname is nodeN)
    nodeN/data/         --data-root (images, swarm raft, the node's managed containerd's root)
    nodeN/exec/         --exec-root (sandbox netns mounts, the managed containerd's state and socket)
    nodeN/docker.sock   --host unix://...
    nodeN/docker.pid    --pidfile
    nodeN/daemon.json   --config-file: only ``deprecated-key-path``, so that each node has its own engine key
    nodeN/key.json      that engine key (dockerd 20.10 writes /etc/docker/key.json otherwise, for every node)
    nodeN/dockerd.log   the daemon's (and its containerd's) output

Each dockerd is started as ``nsenter --net=/run/netns/srlab-nodeN --uts=<root>/ns/nodeN.uts -- dockerd ...``
(``ip netns exec`` would remount /sys in a mount namespace of its own and hide the cgroup hierarchy).
It shares the host's mount namespace and cgroup tree, so everything that is a path is per node: data and
exec roots, pidfile, key, containerd namespace and the cgroup parent ``/srlab-multi/nodeN``. docker0,
docker_gwbridge, the iptables chains, ip_forward and the swarm ports are per network namespace: they do
not clash with each other nor with the single-node lab (``tests.lab.engine``) in the host namespace, and
both labs run at the same time.

The netns and interface names are fixed, so there is one multi-node lab per machine. The kernel here has
no IPVS: no routing mesh and no VIP load balancing; publish ports in ``host`` mode and reach them on the
node's lab address. Only the standard library is used, and ``docker`` (the SDK) by ``client()`` alone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tests.lab.engine import DEAD_PROXY, SHUTDOWN_TIMEOUT, UNIX_PATH_MAX, Lab
from tests.lab.host import (
    RUN_DIRS,
    SBIN_PATH,
    LabError,
    _alive,
    _argv,
    _cgroup_roots,
    _comm,
    _links,
    _mounts_under,
    _pids,
    _read,
    _run,
    _signal,
    _stop,
    _umount,
    _wait_gone,
    _which,
    unix_request,
)
from tests.lab.images import BUSYBOX_IMAGE, ensure_busybox_image

if TYPE_CHECKING:
    import docker

__all__ = ["DEFAULT_MULTILAB_DIR", "HOST_ADDR", "LAB_SUBNET", "MULTILAB_DIR_ENV", "NODE_IFACE", "MultiNodeLab"]

MULTILAB_DIR_ENV = "RECONCILER_MULTILAB_DIR"
DEFAULT_MULTILAB_DIR = "/var/tmp/srlab-multi"
#: containerd namespace prefix, cgroup parent and daemon label of the multi-node lab.
MULTI_NAME = "srlab-multi"
MARKER = ".srlab-multi"

LAB_SUBNET = "10.213.7.0/24"
PREFIX_LEN = 24
HOST_ADDR = "10.213.7.1"
#: The bridge's own address, the nodes' default gateway: a dead end, the bridge namespace forwards nothing.
GATEWAY_ADDR = "10.213.7.254"
NODE_ADDR_BASE = 10  # node N is 10.213.7.(10 + N)
MAX_NODES = 9

BRIDGE_NETNS = "srlab-br"
BRIDGE_IFACE = "srl-br0"
HOST_IFACE = "srl-host"
HOST_PEER = "srl-host-br"
#: The node's end of its veth, inside its own netns (the bridge end is ``srl-nN-br``).
NODE_IFACE = "eth0"
NODE_NETNS_PREFIX = "srlab-node"
NETNS_DIR = Path("/run/netns")

SWARM_PORT = 2377
START_TIMEOUT = 60.0
SWARM_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0


@dataclass(frozen=True)
class _Node:
    """Names and paths of one node (pure data, computed from the lab root and the node's number)."""

    name: str
    index: int
    ip: str
    netns: str
    iface: str
    peer: str
    dir: Path
    uts_file: Path

    @property
    def data_dir(self) -> Path:
        return self.dir / "data"

    @property
    def exec_dir(self) -> Path:
        return self.dir / "exec"

    @property
    def socket_path(self) -> Path:
        return self.dir / "docker.sock"

    @property
    def pid_file(self) -> Path:
        return self.dir / "docker.pid"

    @property
    def log_file(self) -> Path:
        return self.dir / "dockerd.log"

    @property
    def key_file(self) -> Path:
        return self.dir / "key.json"

    @property
    def config_file(self) -> Path:
        return self.dir / "daemon.json"

    @property
    def containerd_sock(self) -> Path:
        return self.exec_dir / "containerd" / "containerd.sock"

    @property
    def netns_path(self) -> Path:
        return NETNS_DIR / self.netns

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def cgroup_parent(self) -> str:
        return f"/{MULTI_NAME}/{self.name}"


class MultiNodeLab:
    """Three (``nodes``) Swarm managers, each a dockerd in its own network and UTS namespace, in one swarm.

    ``up()`` starts it (or reuses a healthy running one, restarting nodes that were stopped); ``down()``
    removes everything. Nodes are named ``node1``..``nodeN``; methods take the name or the number.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None, nodes: int = 3) -> None:
        raw = os.fspath(root) if root is not None else os.environ.get(MULTILAB_DIR_ENV) or DEFAULT_MULTILAB_DIR
        path = Path(raw)
        if not path.is_absolute():
            raise LabError(f"multi-node lab folder must be an absolute path, got {raw!r}")
        path = Path(os.path.normpath(path))
        if len(path.parts) < 3:
            raise LabError(f"multi-node lab folder {path} is too close to / to be deleted safely")
        if not 1 <= nodes <= MAX_NODES:
            raise LabError(f"nodes must be between 1 and {MAX_NODES}, got {nodes}")
        self.root = path
        self.state_file = path / "lab.json"
        self._nodes = [self._make_node(i) for i in range(1, nodes + 1)]
        #: True once this object started the lab itself; False when ``up()`` reused a running one.
        self.started = False
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        for node in self._nodes:
            for sock in (node.socket_path, node.containerd_sock):
                if len(os.fsencode(sock)) > UNIX_PATH_MAX:
                    raise LabError(f"socket path {sock} is longer than {UNIX_PATH_MAX} bytes; use a shorter folder")

    def _make_node(self, index: int) -> _Node:
        name = f"node{index}"
        return _Node(
            name=name,
            index=index,
            ip=f"10.213.7.{NODE_ADDR_BASE + index}",
            netns=f"{NODE_NETNS_PREFIX}{index}",
            iface=NODE_IFACE,
            peer=f"srl-n{index}-br",
            dir=self.root / name,
            uts_file=self.root / "ns" / f"{name}.uts",
        )

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

    def _node(self, node: str | int) -> _Node:
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
        env = dict(os.environ if base is None else base)
        for var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"):
            env.pop(var, None)
        env["DOCKER_HOST"] = self.base_url(node)
        return env

    def nsenter_argv(self, node: str | int) -> list[str]:
        """The argv prefix that runs a command in the node's network and UTS namespaces, e.g.
        ``[*lab.nsenter_argv("node1"), "ip", "addr"]``."""
        n = self._node(node)
        return [_need("nsenter"), f"--net={n.netns_path}", f"--uts={n.uts_file}", "--"]

    def state(self) -> dict[str, Any] | None:
        """The content of lab.json, or None if there is none (or it is unreadable)."""
        text = _read(self.state_file)
        if text is None:
            return None
        try:
            data = json.loads(text)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def pid(self, node: str | int) -> int | None:
        """The pid of the node's dockerd as lab.json records it (it may have been stopped since)."""
        state = self.state() or {}
        pid = ((state.get("nodes") or {}).get(self._node(node).name) or {}).get("pid")
        return pid if isinstance(pid, int) else None

    # ---------------------------------------------------------------------------------------- the API

    def _request(
        self, node: str | int, method: str, path: str, body: Any = None, timeout: float = 10.0
    ) -> tuple[int, Any]:
        return unix_request(str(self._node(node).socket_path), method, path, body, timeout)

    def ping(self, node: str | int) -> bool:
        try:
            status, body = self._request(node, "GET", "/_ping", timeout=2.0)
        except (OSError, http.client.HTTPException):
            return False
        return status == 200 and body == "OK"

    def info(self, node: str | int) -> dict[str, Any]:
        status, body = self._request(node, "GET", "/info")
        if status != 200 or not isinstance(body, dict):
            raise LabError(f"GET /info on {self._node(node).name} answered {status}: {body}")
        return body

    def node_id(self, node: str | int) -> str:
        """The swarm node ID of the node (from its own dockerd)."""
        node_id = (self.info(node).get("Swarm") or {}).get("NodeID")
        if not node_id:
            raise LabError(f"{self._node(node).name} is not in a swarm")
        return str(node_id)

    def swarm_nodes(self, via: str | int | None = None) -> list[dict[str, Any]]:
        """``GET /nodes`` (as ``docker node ls``) from ``via``, or from the first node whose manager answers."""
        candidates = [self._node(via)] if via is not None else self._nodes
        errors: list[str] = []
        for n in candidates:
            try:
                status, body = self._request(n.name, "GET", "/nodes")
            except (OSError, http.client.HTTPException) as exc:
                errors.append(f"{n.name}: {exc}")
                continue
            if status == 200 and isinstance(body, list):
                return body
            errors.append(f"{n.name}: {status} {body}")
        raise LabError("no manager answered GET /nodes: " + "; ".join(errors))

    def _cluster_ready(self, expected: Sequence[str]) -> bool:
        """True if a manager lists exactly the lab's nodes, and those in ``expected`` are ready, reachable
        managers (one entry per hostname: no stale entries)."""
        try:
            nodes = self.swarm_nodes()
        except LabError:
            return False
        by_name: dict[str, list[dict[str, Any]]] = {}
        for entry in nodes:
            by_name.setdefault(str((entry.get("Description") or {}).get("Hostname")), []).append(entry)
        if sorted(by_name) != sorted(self.node_names) or len(nodes) != len(self._nodes):
            return False
        for name in expected:
            entry = by_name[name][0]
            state = (entry.get("Status") or {}).get("State")
            role = (entry.get("Spec") or {}).get("Role")
            reachability = (entry.get("ManagerStatus") or {}).get("Reachability")
            if (state, role, reachability) != ("ready", "manager", "reachable"):
                return False
        return True

    def wait_ready(self, nodes: Iterable[str | int] | None = None, timeout: float = SWARM_TIMEOUT) -> None:
        """Wait until a manager lists all the lab's nodes and ``nodes`` (default: all) are Ready, reachable
        managers."""
        expected = [self._node(n).name for n in nodes] if nodes is not None else self.node_names
        deadline = time.monotonic() + timeout
        while not self._cluster_ready(expected):
            if time.monotonic() > deadline:
                try:
                    listing = [
                        (
                            (e.get("Description") or {}).get("Hostname"),
                            (e.get("Status") or {}).get("State"),
                            (e.get("ManagerStatus") or {}).get("Reachability"),
                        )
                        for e in self.swarm_nodes()
                    ]
                except LabError as exc:
                    listing = [(str(exc), None, None)]
                raise LabError(f"{', '.join(expected)} not ready managers within {timeout:.0f} s: {listing}")
            time.sleep(0.25)

    # -------------------------------------------------------------------------------------- processes

    def _node_dockerds(self, n: _Node) -> list[int]:
        exec_dir = str(n.exec_dir)
        return [pid for pid in _pids() if _comm(pid) == "dockerd" and exec_dir in _argv(pid) and _alive(pid)]

    def _node_leftovers(self, n: _Node) -> list[int]:
        """Every other process of the node: its containerd and shims (by their paths), processes in its
        network or UTS namespace (docker-proxy, host-network containers) and in its cgroup (containers)."""
        config = str(n.exec_dir / "containerd" / "containerd.toml")
        address = str(n.containerd_sock)
        namespaces = {ino for ino in (_ns_inode(n.netns_path), _ns_inode(n.uts_file)) if ino is not None}
        found = set(_cgroup_pids(n.cgroup_parent))
        for pid in _pids():
            if pid == os.getpid():
                continue
            argv = _argv(pid)
            in_ns = {_ns_inode(f"/proc/{pid}/ns/net"), _ns_inode(f"/proc/{pid}/ns/uts")} & namespaces
            if config in argv or address in argv or in_ns:
                found.add(pid)
        return sorted(p for p in found if _alive(p))

    def node_running(self, node: str | int) -> bool:
        """True if the node's dockerd recorded in lab.json is alive, ours, and answers with the lab token."""
        n = self._node(node)
        state = self.state() or {}
        pid = self.pid(n.name)
        if pid is None or not _alive(pid) or _comm(pid) != "dockerd" or str(n.exec_dir) not in _argv(pid):
            return False
        if not self.ping(n.name):
            return False
        try:
            labels = self.info(n.name).get("Labels") or []
        except (OSError, http.client.HTTPException, LabError):
            return False
        return f"{MULTI_NAME}.token={state.get('token')}" in labels

    def _network_present(self) -> bool:
        if not (NETNS_DIR / BRIDGE_NETNS).exists() or HOST_IFACE not in _links():
            return False
        return all(n.netns_path.exists() and _ns_inode(n.uts_file) is not None for n in self._nodes)

    def _reusable(self) -> bool:
        """lab.json, marker and network of a lab with the same nodes: its dockerds may be (re)started."""
        state = self.state()
        if not state or not (self.root / MARKER).exists() or not state.get("token"):
            return False
        if sorted((state.get("nodes") or {}).keys()) != sorted(self.node_names):
            return False
        return self._network_present()

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
        self._refuse_other_multilab()
        if self.root.exists() or self._leftovers_present():
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

    def _leftovers_present(self) -> bool:
        netns = set(_netns_list())
        return bool(netns & {BRIDGE_NETNS, *(n.netns for n in self._nodes)}) or HOST_IFACE in _links()

    def _refuse_other_multilab(self) -> None:
        """The netns and link names are fixed: refuse to take them over from a multi-node lab in another
        folder whose dockerds still run."""
        for name in _netns_list():
            if not name.startswith(NODE_NETNS_PREFIX):
                continue
            ino = _ns_inode(NETNS_DIR / name)
            for pid in _pids():
                if _comm(pid) != "dockerd" or ino is None or _ns_inode(f"/proc/{pid}/ns/net") != ino:
                    continue
                argv = _argv(pid)
                exec_root = argv[argv.index("--exec-root") + 1] if "--exec-root" in argv[:-1] else ""
                if not exec_root.startswith(str(self.root) + "/"):
                    raise LabError(
                        f"netns {name} holds dockerd pid {pid} (exec root {exec_root or '?'}): another "
                        "multi-node lab is running; take it down from its own folder first"
                    )

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
            self._setup_network()
            for n in self._nodes:
                self._setup_node_dirs(n)
            for n in self._nodes:
                self._spawn(n, token)
            for n in self._nodes:
                self._wait_ping(n, START_TIMEOUT)
            self._form_swarm()
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

    def _setup_network(self) -> None:
        ip = _need("ip")
        br, gw = BRIDGE_NETNS, f"{GATEWAY_ADDR}/{PREFIX_LEN}"
        _run([ip, "netns", "add", br], check=True)
        # A new netns inherits the host's IPv4 "all" settings, ip_forward=1 included (the single-node lab
        # sets it): the bridge namespace must not route, so that the nodes' default route is a dead end.
        self._sysctl(br, "net/ipv4/ip_forward", "0")
        for argv in (
            ["link", "set", "lo", "up"],
            ["link", "add", BRIDGE_IFACE, "type", "bridge"],
            ["addr", "add", gw, "dev", BRIDGE_IFACE],
            ["link", "set", BRIDGE_IFACE, "up"],
        ):
            _run([ip, "-n", br, *argv], check=True)
        _run([ip, "link", "add", HOST_IFACE, "type", "veth", "peer", "name", HOST_PEER, "netns", br], check=True)
        _run([ip, "addr", "add", f"{HOST_ADDR}/{PREFIX_LEN}", "dev", HOST_IFACE], check=True)
        _run([ip, "link", "set", HOST_IFACE, "up"], check=True)
        _run([ip, "-n", br, "link", "set", HOST_PEER, "master", BRIDGE_IFACE, "up"], check=True)
        for n in self._nodes:
            _run([ip, "netns", "add", n.netns], check=True)
            _run(
                [ip, "-n", br, "link", "add", n.peer, "type", "veth", "peer", "name", n.iface, "netns", n.netns],
                check=True,
            )
            _run([ip, "-n", br, "link", "set", n.peer, "master", BRIDGE_IFACE, "up"], check=True)
            for argv in (
                ["link", "set", "lo", "up"],
                ["addr", "add", f"{n.ip}/{PREFIX_LEN}", "dev", n.iface],
                ["link", "set", n.iface, "up"],
                ["route", "add", "default", "via", GATEWAY_ADDR, "dev", n.iface],
            ):
                _run([ip, "-n", n.netns, *argv], check=True)

    @staticmethod
    def _sysctl(netns: str, key: str, value: str) -> None:
        # /proc/sys/net answers for the network namespace of the process that opens it.
        script = f"echo {value} > /proc/sys/{key}"
        _run([_need("nsenter"), f"--net={NETNS_DIR / netns}", "--", "sh", "-c", script], check=True)

    def _setup_node_dirs(self, n: _Node) -> None:
        """Folders of a node, and its UTS namespace (bind-mounted on ``ns/nodeN.uts``) named nodeN."""
        for folder in (n.dir, n.data_dir, n.exec_dir, n.uts_file.parent):
            folder.mkdir(parents=True, exist_ok=True)
        # Its own daemon.json (not /etc/docker's), whose only setting is its own engine key: dockerd 20.10
        # writes /etc/docker/key.json otherwise, and every node would share one engine ID.
        n.config_file.write_text(json.dumps({"deprecated-key-path": str(n.key_file)}) + "\n")
        if _ns_inode(n.uts_file) is None:
            n.uts_file.touch()
            _run([_need("unshare"), f"--uts={n.uts_file}", _need("hostname"), n.name], check=True)
        got = _run([*self.nsenter_argv(n.name), _need("hostname")], check=True).stdout.strip()
        if got != n.name:
            raise LabError(f"the UTS namespace of {n.name} says hostname {got!r}")

    def dockerd_args(self, node: str | int, token: str) -> list[str]:
        """The node's dockerd command line, prefixed by the nsenter that puts it in the node's namespaces."""
        n = self._node(node)
        return [
            *self.nsenter_argv(n.name),
            _need("dockerd"),
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

    def _spawn(self, n: _Node, token: str) -> None:
        env = {
            "PATH": SBIN_PATH,
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "HTTP_PROXY": DEAD_PROXY,  # any registry access fails at once instead of leaving the machine
            "HTTPS_PROXY": DEAD_PROXY,
            "NO_PROXY": "localhost,127.0.0.0/8,::1",
            "DOCKER_SERVICE_PREFER_OFFLINE_IMAGE": "1",  # swarm tasks use the local image, no registry pull
        }
        with n.log_file.open("ab") as log:
            proc = subprocess.Popen(
                self.dockerd_args(n.name, token),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=n.dir,
                start_new_session=True,
                close_fds=True,
            )
        self._procs[n.name] = proc  # nsenter execs dockerd: this is the dockerd's pid
        state = self.state() or {}
        nodes = state.setdefault("nodes", {})
        nodes.setdefault(n.name, {"ip": n.ip, "socket": str(n.socket_path)})["pid"] = proc.pid
        self._write_state(state)

    def _wait_ping(self, n: _Node, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        proc = self._procs.get(n.name)
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise LabError(f"dockerd of {n.name} exited with status {proc.returncode} while starting")
            if self.ping(n.name):
                return
            time.sleep(0.1)
        raise LabError(f"dockerd of {n.name} did not answer /_ping on {n.socket_path} within {timeout:.0f} s")

    def _form_swarm(self) -> None:
        """``swarm init`` on node1, then every other node joins as a manager with node1's address."""
        first = self._nodes[0]
        if (self.info(first.name).get("Swarm") or {}).get("LocalNodeState") != "active":
            body = {
                "ListenAddr": f"{first.ip}:{SWARM_PORT}",
                "AdvertiseAddr": first.ip,
                "DataPathAddr": first.ip,
                "ForceNewCluster": False,
            }
            status, answer = self._request(first.name, "POST", "/swarm/init", body, timeout=60.0)
            if status != 200:
                raise LabError(f"swarm init on {first.name} failed: {status} {answer}")
        status, swarm = self._request(first.name, "GET", "/swarm")
        if status != 200 or not isinstance(swarm, dict):
            raise LabError(f"GET /swarm on {first.name} answered {status}: {swarm}")
        token = (swarm.get("JoinTokens") or {}).get("Manager")
        for n in self._nodes[1:]:
            if (self.info(n.name).get("Swarm") or {}).get("LocalNodeState") == "active":
                continue
            body = {
                "ListenAddr": f"{n.ip}:{SWARM_PORT}",
                "AdvertiseAddr": n.ip,
                "DataPathAddr": n.ip,
                "RemoteAddrs": [f"{first.ip}:{SWARM_PORT}"],
                "JoinToken": token,
            }
            status, answer = self._request(n.name, "POST", "/swarm/join", body, timeout=90.0)
            if status != 200:
                raise LabError(f"{n.name} could not join the swarm as a manager: {status} {answer}")

    def _ensure_images(self) -> None:
        """``lab/busybox:1`` on every node: built on node1 with the single-node lab's helper, copied to the
        others (so that it has the same ID everywhere)."""
        first = self._nodes[0]
        ensure_busybox_image(self.env(first.name))
        self.load_image(BUSYBOX_IMAGE, source=first.base_url)

    # ---------------------------------------------------------------------------------------- images

    def image_id(self, node: str | int, name: str) -> str | None:
        """The ID of image ``name`` on the node, or None if it has none."""
        try:
            status, body = self._request(node, "GET", f"/images/{name}/json")
        except (OSError, http.client.HTTPException):
            return None
        return str(body["Id"]) if status == 200 and isinstance(body, dict) and body.get("Id") else None

    def load_image(self, name: str, source: Lab | str | None = None, nodes: Iterable[str | int] | None = None) -> str:
        """Copy image ``name`` into every node (or ``nodes``) that lacks it: one ``docker save`` from the source
        engine streamed into a ``docker load`` per node, chunk by chunk (never whole in memory).

        ``source`` is a ``Lab`` or a ``DOCKER_HOST`` URL; default: the single-node lab (``Lab()``), which
        must be running. Returns the image ID, which is then the same on the source and every node."""
        src_env = _source_env(source)
        docker_cli = _need("docker")
        inspect = subprocess.run(
            [docker_cli, "image", "inspect", "--format", "{{.Id}}", name],
            env=src_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if inspect.returncode != 0:
            raise LabError(f"image {name} not found on {src_env['DOCKER_HOST']}: {inspect.stderr.strip()}")
        image_id = inspect.stdout.strip()
        targets = [self._node(n) for n in nodes] if nodes is not None else list(self._nodes)
        targets = [n for n in targets if self.image_id(n.name, name) != image_id]
        if not targets:
            return image_id
        with contextlib.ExitStack() as stack:
            save_err = stack.enter_context(tempfile.TemporaryFile())
            save = subprocess.Popen(
                [docker_cli, "image", "save", name], env=src_env, stdout=subprocess.PIPE, stderr=save_err
            )
            loads: list[tuple[_Node, subprocess.Popen[bytes], IO[bytes]]] = []
            for n in targets:
                out = stack.enter_context(tempfile.TemporaryFile())
                load = subprocess.Popen(
                    [docker_cli, "image", "load", "--quiet"],
                    env=self.env(n.name),
                    stdin=subprocess.PIPE,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
                loads.append((n, load, out))
            broken: set[str] = set()
            assert save.stdout is not None
            while chunk := save.stdout.read(1 << 20):
                for n, load, _ in loads:
                    if n.name in broken or load.stdin is None:
                        continue
                    try:
                        load.stdin.write(chunk)
                    except BrokenPipeError:
                        broken.add(n.name)
            save.stdout.close()
            errors: list[str] = []
            for n, load, output in loads:
                with contextlib.suppress(BrokenPipeError):
                    if load.stdin is not None:
                        load.stdin.close()
                if load.wait(timeout=300) != 0:
                    output.seek(0)
                    errors.append(f"docker load on {n.name}: {output.read().decode(errors='replace').strip()}")
            if save.wait(timeout=60) != 0:
                save_err.seek(0)
                errors.insert(0, f"docker save {name}: {save_err.read().decode(errors='replace').strip()}")
            if errors:
                raise LabError("; ".join(errors))
        wrong = [n.name for n in targets if self.image_id(n.name, name) != image_id]
        if wrong:
            raise LabError(f"after docker load, {name} on {', '.join(wrong)} is not {image_id}")
        return image_id

    # ------------------------------------------------------------------------------------- node control

    def stop_node(self, node: str | int, sig: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> float:
        """Stop the node's dockerd, as for a failover test; its data stays for ``start_node``.

        SIGTERM: dockerd shuts down cleanly (stopping its containers within their grace periods).
        SIGKILL: a power cut: dockerd, its containerd, shims, containers and docker-proxies are all killed,
        their mounts under the node's folder are dropped and its exec root is emptied, as after a reboot.
        Returns the seconds it took."""
        n = self._node(node)
        began = time.monotonic()
        dockerds = set(self._node_dockerds(n))
        recorded = self.pid(n.name)
        if recorded is not None and _alive(recorded) and _comm(recorded) == "dockerd":
            dockerds.add(recorded)
        if sig == signal.SIGKILL:
            _signal(sorted(dockerds), signal.SIGKILL)
            _wait_gone(sorted(dockerds), 10.0)
            left = self._node_leftovers(n)
            _signal(left, signal.SIGKILL)
            if _wait_gone(left, 10.0):
                raise LabError(f"processes of {n.name} survived SIGKILL")
        else:
            _signal(sorted(dockerds), sig)
            if _wait_gone(sorted(dockerds), timeout):
                _signal(sorted(dockerds), signal.SIGKILL)
                _wait_gone(sorted(dockerds), 10.0)
            _stop(self._node_leftovers(n), 10.0)
        proc = self._procs.pop(n.name, None)
        if proc is not None:
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        _unmount_all(n.data_dir, n.exec_dir)
        if sig == signal.SIGKILL and n.exec_dir.is_dir():
            # After a power cut /run is empty: no stale netns files, task bundles or shim state.
            shutil.rmtree(n.exec_dir)
            n.exec_dir.mkdir()
        _remove_stale_pidfiles(n)
        return time.monotonic() - began

    def start_node(self, node: str | int, wait: bool = True, timeout: float = SWARM_TIMEOUT) -> float:
        """Start the node's dockerd again on its data (after ``stop_node``) and wait until it answers; with
        ``wait``, until it is a Ready, reachable manager again. Returns the seconds it took."""
        return self.start_nodes([node], wait=wait, timeout=timeout)

    def start_nodes(self, nodes: Iterable[str | int], wait: bool = True, timeout: float = SWARM_TIMEOUT) -> float:
        """``start_node`` for several nodes at once. They are all spawned before any is waited for: a manager
        that cannot reach a quorum holds its API back for 20 s (dockerd's swarm start timeout)."""
        state = self.state()
        if state is None or not state.get("token") or not self._network_present():
            raise LabError("the multi-node lab is not set up; run up() first")
        began = time.monotonic()
        todo = [n for n in dict.fromkeys(self._node(node) for node in nodes) if not self.node_running(n.name)]
        for n in todo:
            if self._node_dockerds(n) or self._node_leftovers(n):
                self.stop_node(n.name, signal.SIGKILL)  # a wedged or half-dead node: clear it as after a crash
            else:
                _remove_stale_pidfiles(n)  # e.g. its dockerd was killed by someone else
            self._spawn(n, str(state["token"]))
        for n in todo:
            self._wait_ping(n, START_TIMEOUT)
        if wait and todo:
            self.wait_ready(timeout=timeout)
        return time.monotonic() - began

    # ------------------------------------------------------------------------------------------- down

    def down(self) -> None:
        """Kill every node's dockerd, containerd, shims and containers, unmount what is left under the
        folder, delete the namespaces, links and bridge, the cgroups and the folder. Idempotent; touches only
        this lab's processes (by path, namespace and cgroup), mounts and ``srl-*``/``srlab-*`` names."""
        state = self.state() or {}
        if self.root.exists() and not (self.root / MARKER).exists() and any(self.root.iterdir()):
            raise LabError(f"{self.root} exists but is not a multi-node lab folder (no {MARKER}); refusing")
        if os.geteuid() != 0:
            if not self.root.exists():
                return
            raise LabError("only root can tear the multi-node lab down")
        # Containers first (their stop grace periods would slow dockerd's shutdown), then the daemons.
        payload = _cgroup_pids(f"/{MULTI_NAME}")
        _signal(payload, signal.SIGKILL)
        _wait_gone(payload, 10.0)
        dockerds = sorted({pid for n in self._nodes for pid in self._node_dockerds(n)})
        _stop(dockerds, STOP_TIMEOUT)
        for n in self._nodes:
            _stop(self._node_leftovers(n), 10.0)
        for proc in self._procs.values():
            with contextlib.suppress(Exception):
                proc.wait(timeout=1)
        self._procs.clear()

        _unmount_all(self.root)
        ip = _need("ip")
        netns = set(_netns_list())
        for name in [*(n.netns for n in self._nodes), BRIDGE_NETNS]:
            if name in netns:
                _run([ip, "netns", "del", name], check=True)
        if HOST_IFACE in _links():
            _run([ip, "link", "del", HOST_IFACE])
        for cg in _cgroup_dirs(f"/{MULTI_NAME}"):
            with contextlib.suppress(OSError):
                cg.rmdir()
        before = state.get("host_before")
        if isinstance(before, dict):
            if before.get("run_netns") is False:
                _remove_run_netns()
            # /run/docker and /run/containerd (shim sockets): only if empty and no other dockerd uses them.
            if not any(_comm(p) == "dockerd" and _alive(p) for p in _pids()):
                for run_dir in RUN_DIRS:
                    if run_dir not in (before.get("run_dirs") or []):
                        _remove_empty_tree(Path(run_dir))
        if self.root.exists():
            shutil.rmtree(self.root)
        self.started = False

    # ------------------------------------------------------------------------------------------ status

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        tmp.replace(self.state_file)

    def _update_state(self, **changes: Any) -> None:
        state = self.state() or {}
        state.update(changes)
        self._write_state(state)

    def log_tail(self, node: str | int, lines: int = 25) -> str:
        return "\n".join((_read(self._node(node).log_file) or "").splitlines()[-lines:])

    def status(self) -> dict[str, Any]:
        """A summary for humans: the network, and per node its pid, address, socket and swarm state."""
        state = self.state() or {}
        out: dict[str, Any] = {
            "root": str(self.root),
            "running": self.is_running(),
            "created": state.get("created"),
            "cold_up_seconds": state.get("up_seconds"),
            "network": f"{LAB_SUBNET} host {HOST_ADDR} on {HOST_IFACE}" if self._network_present() else None,
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


# ------------------------------------------------------------------------------------------------- helpers


def _need(binary: str) -> str:
    path = _which(binary)
    if path is None:
        raise LabError(f"{binary} not found")
    return path


def _ns_inode(path: str | os.PathLike[str]) -> int | None:
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


def _netns_list() -> list[str]:
    try:
        return sorted(os.listdir(NETNS_DIR))
    except OSError:
        return []


def _cgroup_dirs(parent: str) -> list[Path]:
    """Folders of the cgroup ``parent`` (e.g. ``/srlab-multi/node1``) in every hierarchy, deepest first."""
    dirs: list[Path] = []
    for root in _cgroup_roots():
        base = Path(root) / parent.strip("/")
        if base.is_dir():
            dirs.extend(Path(d) for d, _, _ in os.walk(base))
    return sorted(dirs, key=lambda p: len(p.parts), reverse=True)


def _cgroup_pids(parent: str) -> list[int]:
    pids: set[int] = set()
    for d in _cgroup_dirs(parent):
        for line in (_read(d / "cgroup.procs") or "").split():
            pids.add(int(line))
    return sorted(pids)


def _unmount_all(*roots: Path) -> None:
    for _ in range(5):
        mounts = [m for root in roots for m in _mounts_under(root)]
        if not mounts:
            return
        for mnt in sorted(set(mounts), key=len, reverse=True):
            _umount(mnt)
    left = [m for root in roots for m in _mounts_under(root)]
    if left:
        raise LabError(f"still mounted: {left}")


def _remove_stale_pidfiles(n: _Node) -> None:
    """Pid files of a node whose processes are gone. dockerd refuses to start while its pidfile exists, and
    a killed containerd may linger as a zombie for a moment: a restarted dockerd that found its pid in
    containerd.pid would wait for that one instead of starting its own (and time out)."""
    for stale in (n.pid_file, n.exec_dir / "containerd" / "containerd.pid"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


def _remove_run_netns() -> None:
    """/run/netns, which ``ip netns add`` created (and bind-mounted onto itself), if it is empty now."""
    if not NETNS_DIR.is_dir() or any(NETNS_DIR.iterdir()):
        return
    while str(NETNS_DIR) in _mounts_under(NETNS_DIR):
        _umount(str(NETNS_DIR))
    with contextlib.suppress(OSError):
        NETNS_DIR.rmdir()


def _remove_empty_tree(path: Path) -> None:
    """rmdir path and its sub-folders, bottom-up, as long as they are empty; never deletes a file."""
    if not path.is_dir() or path.is_symlink():
        return
    for dirpath, _, _ in sorted(os.walk(path), key=lambda t: len(t[0]), reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)


def _source_env(source: Lab | str | None) -> dict[str, str]:
    if isinstance(source, Lab):
        return source.env()
    if source is None:
        lab = Lab()
        if not lab.is_running():
            raise LabError(f"the single-node lab ({lab.root}) is not running; start it or pass source=")
        return lab.env()
    env = dict(os.environ)
    for var in ("DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"):
        env.pop(var, None)
    env["DOCKER_HOST"] = source
    return env


def cli(action: str) -> int:
    """``python -m tests.lab multi up|down|status``; exit status 0 on success (status: running)."""
    import sys

    try:
        lab = MultiNodeLab()
        if action == "up":
            began = time.monotonic()
            lab.up()
            how = "started" if lab.started else "reused running lab"
            print(f"multi-node lab up ({how} in {time.monotonic() - began:.1f} s), host {lab.host_ip}:")
            for name in lab.node_names:
                print(f"  {name}: {lab.node_ip(name)}  export DOCKER_HOST={lab.base_url(name)}")
            return 0
        if action == "down":
            lab.down()
            print(f"multi-node lab down: {lab.root} removed")
            return 0
        status = lab.status()
        for key, value in status.items():
            print(f"{key}: {value}")
        return 0 if status["running"] else 1
    except LabError as exc:
        print(f"multi-node lab {action} failed: {exc}", file=sys.stderr)
        return 1
