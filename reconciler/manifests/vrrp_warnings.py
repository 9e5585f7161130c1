"""Warnings about a ``VirtualIP`` that keepalived accepts but that cannot do what it says.

- **A check weight that can never move the address.** keepalived adds a ``vrrp_script``'s weight
  to a node's priority while the check fails (weight < 0) or succeeds (weight > 0), and a backup
  takes the address over only when its priority is *higher* than the master's advert (RFC 5798
  6.4.3; keepalived ``vrrp/vrrp.c`` keeps a master whose advert has an equal or higher priority).
  With the highest priority ``p1`` and the next ``p2`` (the other named nodes and
  ``defaultPriority``, which any other node gets), a failing check moves the address only if
  ``p1 + weight < p2`` (weight < 0) or ``p2 + weight > p1`` (weight > 0); priorities are kept to
  1..254. With ``preempt: false`` (keepalived's ``nopreempt``), a backup accepts a lower-priority
  advert and never takes over from a running master (``vrrp.c``: only "!nopreempt and lower
  priority advert" is discarded), so no weight moves the address.
- **Unicast peers.** The same ``unicast_peer`` list is written on every node, so it must hold every
  node's address, each node's own included (keepalived ignores an advert from its own address at
  its own priority): a node missing from it is never heard (keepalived drops an advert from "a
  unicast source address not a unicast peer", ``vrrp.c``) and both nodes become master. The
  floating address itself is never a peer: adverts sent to it reach whoever holds it.

Called by ``reconciler.manifests.warning_checks``; returns (field path, message) pairs.
"""

from __future__ import annotations

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.kinds.virtual_ip import VipCheck, VirtualIP, VirtualIPSpec
from reconciler.manifests.yaml_source import FieldPath

__all__ = ["vrrp_warnings"]

_MIN_PRIORITY, _MAX_PRIORITY = 1, 254


def vrrp_warnings(resource: Resource) -> list[tuple[FieldPath, str]]:
    if not isinstance(resource, VirtualIP):
        return []
    spec = resource.spec
    found = [
        (("spec", "checks", index, "weight"), message)
        for index, check in enumerate(spec.checks)
        if (message := _weight_message(spec, check)) is not None
    ]
    return found + _unicast_messages(spec)


def _clamp(priority: int) -> int:
    return max(_MIN_PRIORITY, min(_MAX_PRIORITY, priority))


def _weight_message(spec: VirtualIPSpec, check: VipCheck) -> str | None:
    if check.weight == 0:
        return None  # a failing check with weight 0 puts the node in FAULT: the address moves
    if not spec.preempt:
        return (
            f"with `preempt: false` a backup never takes the address from a running master, so weight "
            f"{check.weight} cannot move it: use weight 0 (a failing check then gives the address up) "
            "or `preempt: true`"
        )
    ranked = sorted([*spec.priorities.values(), spec.default_priority], reverse=True)
    top, second = ranked[0], ranked[1]
    if check.weight < 0 and _clamp(top + check.weight) > second:
        return (
            f"a failing {check.name!r} check takes the holder's priority {top} to "
            f"{_clamp(top + check.weight)}, still above the next priority {second}: it can never move "
            f"the address (make the weight at most {second - top - 1})"
        )
    if check.weight > 0 and _clamp(second + check.weight) < top:
        return (
            f"a passing {check.name!r} check takes the next priority {second} to "
            f"{_clamp(second + check.weight)}, still below the holder's {top}: a failing check on the "
            f"holder can never move the address (make the weight at least {top - second + 1})"
        )
    return None


def _unicast_messages(spec: VirtualIPSpec) -> list[tuple[FieldPath, str]]:
    found: list[tuple[FieldPath, str]] = []
    floating = {address.ip for address in spec.addresses}
    for index, peer in enumerate(spec.unicast_peers):
        if peer in floating:
            found.append(
                (
                    ("spec", "unicastPeers", index),
                    f"{peer} is a floating address of this VirtualIP, not a node: adverts sent to it "
                    "reach whichever node holds it; list the nodes' own addresses",
                )
            )
    nodes = len(spec.priorities)
    if spec.unicast_peers and nodes >= 2 and len(spec.unicast_peers) < nodes:
        found.append(
            (
                ("spec", "unicastPeers"),
                f"{len(spec.unicast_peers)} unicast peers for the {nodes} nodes named in `priorities`: "
                "the list is the same on every node and must hold every node's address, its own "
                "included; keepalived drops adverts from an address not in it, so both sides become master",
            )
        )
    return found
