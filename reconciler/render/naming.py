"""Names and labels the reconciler writes: ownership labels, and content-hashed object names.

A Config/Secret name carries a hash of its content and a Volume name a hash of its driver options,
so a change makes a new object instead of silently reusing a stale one. Used by every renderer.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from reconciler import LABEL_PREFIX

__all__ = [
    "APPLIED_HASH",
    "DEFAULT_INSTANCE",
    "KIND",
    "LEASE_CONFIG_PREFIX",
    "LEASE_KIND",
    "MANAGED_BY",
    "NAME",
    "REQUESTED_IMAGE",
    "ROUTES_MANAGED_BY",
    "ROUTE_LABEL_KEYS",
    "hashed_name",
    "ownership_labels",
    "short_hash",
    "stable_json",
]

MANAGED_BY = f"{LABEL_PREFIX}managed-by"
KIND = f"{LABEL_PREFIX}kind"
NAME = f"{LABEL_PREFIX}name"
APPLIED_HASH = f"{LABEL_PREFIX}applied-hash"
REQUESTED_IMAGE = f"{LABEL_PREFIX}image"  # the tag asked for, so a digest-pinned image is not drift
# On a service the reconciler does not manage, routes own only some label keys: which, and for whom.
ROUTES_MANAGED_BY = f"{LABEL_PREFIX}routes-managed-by"
ROUTE_LABEL_KEYS = f"{LABEL_PREFIX}route-label-keys"
DEFAULT_INSTANCE = "reconciler"
LEASE_KIND = "Lease"  # the kind label of the leader-election lease config: never pruned
LEASE_CONFIG_PREFIX = "reconciler-lease-"


def stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def short_hash(value: bytes | str | Any, length: int = 8) -> str:
    """sha256 of bytes, a string, or any JSON-able value (canonicalised), as ``length`` hex digits."""
    if isinstance(value, str):
        value = value.encode()
    elif not isinstance(value, bytes):
        value = stable_json(value).encode()
    return hashlib.sha256(value).hexdigest()[:length]


def hashed_name(name: str, content: bytes | str | Any) -> str:
    """``<name>-<hash8>``; Swarm names allow 64 characters and manifest names at most 63, so trim."""
    return f"{name[:54]}-{short_hash(content)}"


def ownership_labels(kind: str, name: str, instance: str = DEFAULT_INSTANCE) -> dict[str, str]:
    return {MANAGED_BY: instance, KIND: kind, NAME: name}
