"""The manifest folder → the desired state of its current revision, or why there is none.

Safety rules the controller depends on: a revision with any invalid manifest is refused and the last
good one stays in force; a revision whose files change while they are read is not used (the next
event brings the settled one); an unchanged folder is not parsed again; when a Git sync feeds the
folder, the folder and every symlink on the way to it must stay inside the checked-out revision,
else the revision is refused. The revision is the Git commit when a Git sync feeds the folder,
else a content hash of the manifests. A new revision is parsed (``manifests.parse_cache``), cross-checked
(``manifests.incremental_checks``), compiled (``state.compile_cache``) and hashed for its revision
(``_Digests``) only where it changed. Called by the controller once per pass.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.core.hashing import short_hash
from reconciler.manifests.discovery import OutsideBase, resolve_inside
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.incremental_checks import CrossChecks
from reconciler.manifests.kinds.base import Resource
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.manifests.parse_cache import ParseCache
from reconciler.state.compile_cache import CompileCache
from reconciler.state.desired import DesiredObject, DesiredState, compile_desired

__all__ = ["Loaded", "ManifestSource", "Refused", "Settling", "Unchanged", "manifest_revision", "resource_digest"]

Fingerprint = list[tuple[str, int, int]]


def resource_digest(resource: Resource) -> str:
    """sha256 of one manifest's canonical JSON form (keys sorted: the order in the file does not count)."""
    return short_hash(resource.model_dump(mode="json", by_alias=True), 64)


def manifest_revision(manifests: ManifestSet, digest: Callable[[Resource], str] = resource_digest) -> str:
    """A content hash of a manifest set: the same manifests give the same revision, whatever the files.
    ``digest``: each manifest's ``resource_digest`` (``ManifestSource`` passes one that remembers them)."""
    revision = short_hash(
        {
            "manifests": {r.key: digest(r) for r in manifests},
            "contents": {k: short_hash(v, 64) for k, v in sorted(manifests.contents.items())},
        },
        length=12,
    )
    return f"sha256:{revision}"


class _Digests:
    """``resource_digest`` per manifest object, kept for the next revision: the parse cache hands an
    unchanged file's manifests back as the same objects, so only a changed file's are hashed again.
    Holds the last revision's manifests only."""

    def __init__(self) -> None:
        self._last: dict[int, tuple[Resource, str]] = {}
        self._now: dict[int, tuple[Resource, str]] = {}

    def __call__(self, resource: Resource) -> str:
        found = self._last.get(id(resource))
        if found is None or found[0] is not resource:
            found = (resource, resource_digest(resource))
        self._now[id(resource)] = found
        return found[1]

    def end_revision(self) -> None:
        self._last, self._now = self._now, {}


@dataclass(frozen=True)
class Loaded:
    """A new revision, valid and compiled."""

    revision: str
    desired: DesiredState
    manifest_count: int


@dataclass(frozen=True)
class Unchanged:
    """The folder holds the revision in force (its error, if it had one, is gone)."""


@dataclass(frozen=True)
class Settling:
    """Files changed while they were read: read again shortly."""


@dataclass(frozen=True)
class Refused:
    """The revision is invalid; ``problems`` are the loader's ``file:line:column: …`` lines."""

    problems: tuple[str, ...]


LoadResult = Loaded | Unchanged | Settling | Refused


def _fingerprint(root: Path) -> Fingerprint:
    """Every path below ``root`` (symlinked folders not entered, as ``Path.rglob``) with the size and
    mtime of what it leads to. ``os.walk`` with plain strings: a third of ``rglob``'s time, every pass."""
    found = []
    for folder, dirs, files in os.walk(root):
        for name in (*dirs, *files):
            path = os.path.join(folder, name)
            try:
                stat = os.stat(path)
            except OSError:
                continue
            found.append((path, stat.st_size, stat.st_mtime_ns))
    found.sort()
    return found


class ManifestSource:
    """Reads ``folder`` for ``instance``; ``revision_of`` names the Git commit when there is one.

    ``checkout`` is the Git sync's ``current`` link when one feeds the folder: ``folder`` is then a path
    below it, and a revision whose folder is, or passes through, a symlink that leaves the checkout is
    ``Refused`` (a plain folder may itself be a symlink; links below it are the loader's to refuse).
    """

    def __init__(
        self,
        folder: Path,
        instance: str,
        revision_of: Callable[[], str | None] | None = None,
        checkout: Path | None = None,
    ) -> None:
        self.folder = folder
        self.instance = instance
        self.revision_of = revision_of
        self.checkout = checkout
        self.revision: str | None = None
        self.desired: DesiredState | None = None
        self._read: tuple[Path, Fingerprint] | None = None
        self.cache = ParseCache()  # unchanged files of the next revision are not parsed again
        self.checks = CrossChecks()  # nor cross-checked again where nothing they read changed
        self.compiled: CompileCache[DesiredObject] = CompileCache()  # nor unchanged objects compiled again
        self._digests = _Digests()  # nor unchanged manifests hashed again for the revision

    def load(self) -> LoadResult:
        try:
            root = self._root()  # one resolution: a swapped symlink is one revision
        except OutsideBase as exc:
            return Refused((f"{self.folder}: the manifest folder leaves the Git checkout: {exc}",))
        before = _fingerprint(root)
        if (root, before) == self._read and self.desired is not None:
            return Unchanged()  # nothing on disk changed since the last good load: no need to parse again
        try:
            manifests = load_manifests(root, self.cache, self.checks)
        except ManifestError as exc:
            return Refused(tuple(str(p) for p in exc.problems))
        if _fingerprint(root) != before:
            return Settling()
        revision = (self.revision_of() if self.revision_of else None) or self._revision(manifests)
        self._read = (root, before)
        if revision == self.revision and self.desired is not None:
            return Unchanged()
        self.desired = compile_desired(manifests, self.instance, self.compiled)
        self.revision = revision
        return Loaded(revision, self.desired, len(manifests))

    def _revision(self, manifests: ManifestSet) -> str:
        try:
            return manifest_revision(manifests, self._digests)
        finally:
            self._digests.end_revision()

    def _root(self) -> Path:
        if self.checkout is None:
            return self.folder.resolve()
        try:
            relative = self.folder.relative_to(self.checkout)
        except ValueError:
            raise OutsideBase(f"{self.folder} is not below {self.checkout}") from None
        return resolve_inside(self.checkout, relative)
