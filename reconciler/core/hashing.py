"""Canonical JSON and short content hashes, and the content-hashed Swarm names built from them.

A Config/Secret name carries a hash of its content and a Volume name a hash of its driver options,
so a change makes a new object instead of silently reusing a stale one. Used by the renderers, the
essences (``applied-hash``) and the controller's revision ids.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["hashed_name", "short_hash", "stable_json"]


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
