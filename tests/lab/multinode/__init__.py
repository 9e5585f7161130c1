"""A multi-node lab: several Docker Swarm managers on this one machine, each a dockerd in its own network
and UTS namespace, linked by a bridge in a namespace of their own, joined into one swarm.

docker0, docker_gwbridge, the iptables chains, ip_forward and the swarm ports are per network namespace:
the nodes do not clash with each other nor with the single-node lab (``tests.lab.engine``) in the host
namespace, and both labs run at the same time. The netns and interface names are fixed, so there is one
multi-node lab per machine. The kernel here has no IPVS: no routing mesh and no VIP load balancing;
publish ports in ``host`` mode and reach them on the node's lab address. Only the standard library is
used, and ``docker`` (the SDK) by ``MultiNodeLab.client()`` alone.

The modules, each one concept:

- ``layout``: names, addresses and paths (pure data; the layout diagram is there);
- ``namespaces``: host plumbing (namespaces by inode, cgroups, mounts, the docker CLI environment);
- ``network``: the bridge namespace and the veths, made and removed with ``ip``;
- ``daemon``: one node's dockerd (folders, UTS namespace, command line, Engine API, processes, stop);
- ``cluster``: forming the swarm and waiting until every node is a Ready manager;
- ``images``: copying images from the single-node lab into the nodes;
- ``teardown``: removing everything the lab made;
- ``lab``: ``MultiNodeLab``, which holds the state and strings the others together;
- ``command``: ``cli()``, that is ``python -m tests.lab multi up|down|status``.

Tests use ``MultiNodeLab`` (through the ``multinode`` fixture in ``tests/multinode/conftest.py``) and the
constants below, all re-exported here.
"""

from tests.lab.multinode.command import cli
from tests.lab.multinode.lab import MultiNodeLab
from tests.lab.multinode.layout import DEFAULT_MULTILAB_DIR, HOST_ADDR, LAB_SUBNET, MULTILAB_DIR_ENV, NODE_IFACE

__all__ = ["DEFAULT_MULTILAB_DIR", "HOST_ADDR", "LAB_SUBNET", "MULTILAB_DIR_ENV", "NODE_IFACE", "MultiNodeLab", "cli"]
