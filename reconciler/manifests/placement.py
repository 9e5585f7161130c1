"""Placement constraints and spread preferences, checked against what Swarm's scheduler understands.

A constraint the engine parses but cannot evaluate is not an error in Swarm: the task just never
finds a node and stays pending for ever, while the service looks created. So the rules here come
from swarmkit (``github.com/moby/swarmkit``):

- ``manager/constraint/constraint.go`` ``Parse``: ``key op value``, the operator ``==`` or ``!=``
  (``==`` is looked for first), the key ``^(?i)[a-z_][a-z0-9\\-_.]+$``; ``NodeMatches`` knows the keys
  ``node.id``, ``node.hostname``, ``node.ip`` (an address or a CIDR, anything else never matches),
  ``node.role``, ``node.platform.os``, ``node.platform.arch``, ``node.labels.<label>`` and
  ``engine.labels.<label>`` (case-insensitive); any other key never matches. ``node.role`` is
  ``manager`` or ``worker``.
- ``manager/scheduler/nodeset.go`` ``tree``: a ``spread`` preference only counts for
  ``node.labels.<label>`` and ``engine.labels.<label>``; any other descriptor is skipped silently.

Used as validators by the ``Service`` and ``VirtualIP`` models.
"""

from __future__ import annotations

import difflib
import re
from ipaddress import ip_address, ip_network

from reconciler.manifests.types import shown

__all__ = ["CONSTRAINT_KEYS", "LABEL_PREFIXES", "check_constraint", "check_spread"]

CONSTRAINT_KEYS = (
    "node.id",
    "node.hostname",
    "node.ip",
    "node.role",
    "node.platform.os",
    "node.platform.arch",
)
LABEL_PREFIXES = ("node.labels.", "engine.labels.")
_KEY = re.compile(r"[a-z_][a-z0-9\-_.]+", re.IGNORECASE)  # constraint.go alphaNumeric
_ROLES = ("manager", "worker")
_KNOWN = ", ".join([*CONSTRAINT_KEYS, "node.labels.<label>", "engine.labels.<label>"])


def _split(constraint: str) -> tuple[str, str, str]:
    for operator in ("==", "!="):
        if operator in constraint:
            key, value = constraint.split(operator, 1)
            return key.strip(), operator, value.strip()
    raise ValueError(f"{shown(constraint)} has no operator: use == or !=")


def _labelled(key: str) -> bool:
    lowered = key.lower()
    return any(lowered.startswith(prefix) and len(key) > len(prefix) for prefix in LABEL_PREFIXES)


def _suggestion(key: str) -> str:
    lowered = key.lower()
    if "." not in lowered or not lowered.startswith(("node.", "engine.")):
        return f"node.labels.{key}"
    close = difflib.get_close_matches(lowered, [*CONSTRAINT_KEYS, *LABEL_PREFIXES], n=1, cutoff=0.6)
    if close and close[0].endswith("."):
        return close[0] + "<label>"
    return close[0] if close else "node.labels.<label>"


def check_constraint(constraint: str) -> str:
    """``constraint`` when Swarm's scheduler can evaluate it, else ValueError saying why and what
    was probably meant (``rack == large`` → ``node.labels.rack == large``)."""
    key, operator, value = _split(constraint)
    if not _KEY.fullmatch(key):
        raise ValueError(f"{shown(key)} is not a constraint key (letters, digits, '-', '_' and '.')")
    lowered = key.lower()
    if lowered not in CONSTRAINT_KEYS and not _labelled(key):
        raise ValueError(
            f"Swarm knows no constraint key {shown(key)}, so no node would ever match and the tasks would "
            f"stay pending: did you mean {_suggestion(key)}? (keys: {_KNOWN})"
        )
    if lowered == "node.role" and value.lower() not in _ROLES:
        raise ValueError(f"node.role is manager or worker, not {shown(value)}")
    if lowered == "node.ip":
        try:
            ip_address(value)
        except ValueError:
            try:
                ip_network(value, strict=False)
            except ValueError:
                raise ValueError(
                    f"node.ip takes an address or a CIDR such as 10.0.0.0/24, not {shown(value)}"
                ) from None
    if not value:
        raise ValueError(f"{shown(constraint)} has no value after {operator}")
    return constraint


def check_spread(descriptor: str) -> str:
    """A spread descriptor Swarm's scheduler uses: ``node.labels.<label>`` or ``engine.labels.<label>``."""
    if not _labelled(descriptor):
        raise ValueError(
            f"Swarm spreads only over node.labels.<label> or engine.labels.<label>; it silently ignores "
            f"{shown(descriptor)} (to keep replicas on different nodes use maxReplicasPerNode)"
        )
    return descriptor
