"""The multi-node lab's network: the bridge namespace, the host's veth into it and one veth per node
namespace (see ``layout``), made with ``ip`` and removed again. Called by ``MultiNodeLab`` (``lab``) on
start, reuse and teardown.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.lab.host import LabError, _argv, _comm, _links, _pids, _run
from tests.lab.multinode.layout import (
    BRIDGE_IFACE,
    BRIDGE_NETNS,
    GATEWAY_ADDR,
    HOST_ADDR,
    HOST_IFACE,
    HOST_PEER,
    NETNS_DIR,
    NODE_NETNS_PREFIX,
    PREFIX_LEN,
    Node,
)
from tests.lab.multinode.namespaces import need, netns_list, ns_inode


def setup_network(nodes: Sequence[Node]) -> None:
    ip = need("ip")
    br, gw = BRIDGE_NETNS, f"{GATEWAY_ADDR}/{PREFIX_LEN}"
    _run([ip, "netns", "add", br], check=True)
    # A new netns inherits the host's IPv4 "all" settings, ip_forward=1 included (the single-node lab
    # sets it): the bridge namespace must not route, so that the nodes' default route is a dead end.
    _sysctl(br, "net/ipv4/ip_forward", "0")
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
    for n in nodes:
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


def _sysctl(netns: str, key: str, value: str) -> None:
    # /proc/sys/net answers for the network namespace of the process that opens it.
    script = f"echo {value} > /proc/sys/{key}"
    _run([need("nsenter"), f"--net={NETNS_DIR / netns}", "--", "sh", "-c", script], check=True)


def network_present(nodes: Sequence[Node]) -> bool:
    """The bridge namespace, the host's link and every node's network and UTS namespace are there."""
    if not (NETNS_DIR / BRIDGE_NETNS).exists() or HOST_IFACE not in _links():
        return False
    return all(n.netns_path.exists() and ns_inode(n.uts_file) is not None for n in nodes)


def leftovers_present(nodes: Sequence[Node]) -> bool:
    """Any of the lab's namespaces or the host's link is there (say, from a lab that died half-way)."""
    netns = set(netns_list())
    return bool(netns & {BRIDGE_NETNS, *(n.netns for n in nodes)}) or HOST_IFACE in _links()


def refuse_other_multilab(root: Path) -> None:
    """The netns and link names are fixed: refuse to take them over from a multi-node lab in another
    folder whose dockerds still run."""
    for name in netns_list():
        if not name.startswith(NODE_NETNS_PREFIX):
            continue
        ino = ns_inode(NETNS_DIR / name)
        for pid in _pids():
            if _comm(pid) != "dockerd" or ino is None or ns_inode(f"/proc/{pid}/ns/net") != ino:
                continue
            argv = _argv(pid)
            exec_root = argv[argv.index("--exec-root") + 1] if "--exec-root" in argv[:-1] else ""
            if not exec_root.startswith(str(root) + "/"):
                raise LabError(
                    f"netns {name} holds dockerd pid {pid} (exec root {exec_root or '?'}): another "
                    "multi-node lab is running; take it down from its own folder first"
                )


def remove_network(nodes: Sequence[Node]) -> None:
    """Delete the node and bridge namespaces (their veths go with them) and the host's link."""
    ip = need("ip")
    netns = set(netns_list())
    for name in [*(n.netns for n in nodes), BRIDGE_NETNS]:
        if name in netns:
            _run([ip, "netns", "del", name], check=True)
    if HOST_IFACE in _links():
        _run([ip, "link", "del", HOST_IFACE])
