"""Canonical JSON and short content hashes.

A Config/Secret name carries a hash of its content and a Volume name a hash of its driver options
(``reconciler.core.swarm_names``), so a change makes a new object instead of silently reusing a
stale one. Used by those names, the essences (``applied-hash``) and the controller's revision ids.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["short_hash", "stable_json"]


def stable_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def short_hash(value: bytes | str | Any, length: int = 8) -> str:
    """sha256 of bytes, a string, or any JSON-able value (canonicalised), as ``length`` hex digits."""
    if isinstance(value, str):
        value = value.encode()
    elif not isinstance(value, bytes):
        value = stable_json(value).encode()
    return hashlib.sha256(value).hexdigest()[:length]
