"""Incremental revisions: a file whose bytes did not change is not parsed or validated again.

The controller loads every new revision whole, but most revisions change one or two files: this
cache keeps, per file name and sha256 of its bytes, the documents it parsed to and the resources
they validated to, and what they cost the revision's budget (bytes, values, text), so the bounds
hold exactly as on a fresh load. Only files that parsed and validated cleanly are kept; the cross
checks, contents and warnings still run on the whole set (they are cheap and see across files).
After each load the cache keeps only the files that load saw, so it never holds more than one
revision. A fresh load without a cache stays the reference: a test compares both on random edits.
Used by ``loading.load_manifests``, held by the controller's ``ManifestSource``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.yaml_source import SourceDocument

__all__ = ["CachedFile", "ParseCache"]


@dataclass(frozen=True)
class CachedFile:
    """One clean file: each document with its validated resource, and what it drew on the budget."""

    documents: tuple[tuple[SourceDocument, Resource], ...]
    nodes: int
    text: int
    bytes: int


class ParseCache:
    def __init__(self) -> None:
        self._files: dict[tuple[str, str], CachedFile] = {}
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(name: str, raw: bytes) -> tuple[str, str]:
        return name, hashlib.sha256(raw).hexdigest()

    def get(self, key: tuple[str, str]) -> CachedFile | None:
        with self._lock:
            self._seen.add(key)
            found = self._files.get(key)
            if found is None:
                self.misses += 1
            else:
                self.hits += 1
            return found

    def put(self, key: tuple[str, str], entry: CachedFile) -> None:
        with self._lock:
            self._files[key] = entry

    def end_load(self) -> None:
        """Forget every file the load just finished did not read (the cache holds one revision)."""
        with self._lock:
            self._files = {k: v for k, v in self._files.items() if k in self._seen}
            self._seen = set()

    def __len__(self) -> int:
        return len(self._files)
