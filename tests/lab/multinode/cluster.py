"""The multi-node lab's swarm: ``swarm init`` on the first node, every other node joining as a manager, and
the readiness check (one node entry per hostname, each a Ready, reachable manager). Called by
``MultiNodeLab`` (``lab``) with its nodes; each answer comes from a node's own Engine API (``daemon``).
"""

from __future__ import annotations

import http.client
import time
from collections.abc import Sequence
from typing import Any

from tests.lab.host import LabError
from tests.lab.multinode.daemon import info, request
from tests.lab.multinode.layout import SWARM_PORT, Node


def swarm_nodes(candidates: Sequence[Node]) -> list[dict[str, Any]]:
    """``GET /nodes`` (as ``docker node ls``) from the first of ``candidates`` whose manager answers."""
    errors: list[str] = []
    for n in candidates:
        try:
            status, body = request(n, "GET", "/nodes")
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{n.name}: {exc}")
            continue
        if status == 200 and isinstance(body, list):
            return body
        errors.append(f"{n.name}: {status} {body}")
    raise LabError("no manager answered GET /nodes: " + "; ".join(errors))


def cluster_ready(nodes: Sequence[Node], expected: Sequence[str]) -> bool:
    """True if a manager lists exactly ``nodes``, and those named in ``expected`` are ready, reachable
    managers (one entry per hostname: no stale entries)."""
    try:
        listed = swarm_nodes(nodes)
    except LabError:
        return False
    by_name: dict[str, list[dict[str, Any]]] = {}
    for entry in listed:
        by_name.setdefault(str((entry.get("Description") or {}).get("Hostname")), []).append(entry)
    if sorted(by_name) != sorted(n.name for n in nodes) or len(listed) != len(nodes):
        return False
    for name in expected:
        entry = by_name[name][0]
        state = (entry.get("Status") or {}).get("State")
        role = (entry.get("Spec") or {}).get("Role")
        reachability = (entry.get("ManagerStatus") or {}).get("Reachability")
        if (state, role, reachability) != ("ready", "manager", "reachable"):
            return False
    return True


def wait_ready(nodes: Sequence[Node], expected: Sequence[str], timeout: float) -> None:
    """Wait until a manager lists all ``nodes`` and those named in ``expected`` are Ready, reachable
    managers; on timeout the error shows what the swarm listed."""
    deadline = time.monotonic() + timeout
    while not cluster_ready(nodes, expected):
        if time.monotonic() > deadline:
            try:
                listing = [
                    (
                        (e.get("Description") or {}).get("Hostname"),
                        (e.get("Status") or {}).get("State"),
                        (e.get("ManagerStatus") or {}).get("Reachability"),
                    )
                    for e in swarm_nodes(nodes)
                ]
            except LabError as exc:
                listing = [(str(exc), None, None)]
            raise LabError(f"{', '.join(expected)} not ready managers within {timeout:.0f} s: {listing}")
        time.sleep(0.25)


def form_swarm(nodes: Sequence[Node]) -> None:
    """``swarm init`` on the first node, then every other node joins as a manager with the first's address.
    Nodes already in a swarm are left as they are."""
    first = nodes[0]
    if (info(first).get("Swarm") or {}).get("LocalNodeState") != "active":
        body = {
            "ListenAddr": f"{first.ip}:{SWARM_PORT}",
            "AdvertiseAddr": first.ip,
            "DataPathAddr": first.ip,
            "ForceNewCluster": False,
        }
        status, answer = request(first, "POST", "/swarm/init", body, timeout=60.0)
        if status != 200:
            raise LabError(f"swarm init on {first.name} failed: {status} {answer}")
    status, swarm = request(first, "GET", "/swarm")
    if status != 200 or not isinstance(swarm, dict):
        raise LabError(f"GET /swarm on {first.name} answered {status}: {swarm}")
    token = (swarm.get("JoinTokens") or {}).get("Manager")
    for n in nodes[1:]:
        if (info(n).get("Swarm") or {}).get("LocalNodeState") == "active":
            continue
        body = {
            "ListenAddr": f"{n.ip}:{SWARM_PORT}",
            "AdvertiseAddr": n.ip,
            "DataPathAddr": n.ip,
            "RemoteAddrs": [f"{first.ip}:{SWARM_PORT}"],
            "JoinToken": token,
        }
        status, answer = request(n, "POST", "/swarm/join", body, timeout=90.0)
        if status != 200:
            raise LabError(f"{n.name} could not join the swarm as a manager: {status} {answer}")
