"""The multi-node lab's fixed names, addresses and paths: what a lab folder and a node number turn into.

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
    nodeN/              a tmpfs with all of the node's below (``host.mount_data_tmpfs``) unless ``RECONCILER_LAB_TMPFS=0``
    nodeN/data/         --data-root (images, swarm raft, the node's managed containerd's root)
    nodeN/exec/         --exec-root (sandbox netns mounts, the managed containerd's state and socket)
    nodeN/docker.sock   --host unix://...
    nodeN/docker.pid    --pidfile
    nodeN/daemon.json   --config-file: only ``deprecated-key-path``, so that each node has its own engine key
    nodeN/key.json      that engine key (dockerd 20.10 writes /etc/docker/key.json otherwise, for every node)
    nodeN/dockerd.log   the daemon's (and its containerd's) output

Pure data: nothing here touches the machine. Every other module of the package names things through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

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
class Node:
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


def make_node(root: Path, index: int) -> Node:
    """Node number ``index`` (1-based) of the lab in folder ``root``."""
    name = f"node{index}"
    return Node(
        name=name,
        index=index,
        ip=f"10.213.7.{NODE_ADDR_BASE + index}",
        netns=f"{NODE_NETNS_PREFIX}{index}",
        iface=NODE_IFACE,
        peer=f"srl-n{index}-br",
        dir=root / name,
        uts_file=root / "ns" / f"{name}.uts",
    )
