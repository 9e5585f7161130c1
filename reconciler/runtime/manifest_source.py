"""The manifest folder → the desired state of its current revision, or why there is none.

Safety rules the controller depends on: a revision with any invalid manifest is refused and the last
good one stays in force; a revision whose files change while they are read is not used (the next
event brings the settled one); an unchanged folder is not parsed again; when a Git sync feeds the
folder, the folder and every symlink on the way to it must stay inside the checked-out revision,
else the revision is refused. The revision is the Git commit when a Git sync feeds the folder,
else a content hash of the manifests. A new revision is parsed (``manifests.parse_cache``) and compiled
(``state.compile_cache``) only where it changed. Called by the controller once per pass.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from reconciler.core.hashing import short_hash
from reconciler.manifests.discovery import OutsideBase, resolve_inside
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.manifests.parse_cache import ParseCache
from reconciler.state.compile_cache import CompileCache
from reconciler.state.desired import DesiredObject, DesiredState, compile_desired

__all__ = ["Loaded", "ManifestSource", "Refused", "Settling", "Unchanged", "manifest_revision"]

Fingerprint = list[tuple[str, int, int]]


def manifest_revision(manifests: ManifestSet) -> str:
    """A content hash of a manifest set: the same manifests give the same revision, whatever the files."""
    digest = short_hash(
        {
            "manifests": {r.key: r.model_dump(mode="json", by_alias=True) for r in manifests},
            "contents": {k: short_hash(v, 64) for k, v in sorted(manifests.contents.items())},
        },
        length=12,
    )
    return f"sha256:{digest}"


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
    found = []
    for path in sorted(root.rglob("*")):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((str(path), stat.st_size, stat.st_mtime_ns))
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
        self.compiled: CompileCache[DesiredObject] = CompileCache()  # nor unchanged objects compiled again

    def load(self) -> LoadResult:
        try:
            root = self._root()  # one resolution: a swapped symlink is one revision
        except OutsideBase as exc:
            return Refused((f"{self.folder}: the manifest folder leaves the Git checkout: {exc}",))
        before = _fingerprint(root)
        if (root, before) == self._read and self.desired is not None:
            return Unchanged()  # nothing on disk changed since the last good load: no need to parse again
        try:
            manifests = load_manifests(root, self.cache)
        except ManifestError as exc:
            return Refused(tuple(str(p) for p in exc.problems))
        if _fingerprint(root) != before:
            return Settling()
        revision = (self.revision_of() if self.revision_of else None) or manifest_revision(manifests)
        self._read = (root, before)
        if revision == self.revision and self.desired is not None:
            return Unchanged()
        self.desired = compile_desired(manifests, self.instance, self.compiled)
        self.revision = revision
        return Loaded(revision, self.desired, len(manifests))

    def _root(self) -> Path:
        if self.checkout is None:
            return self.folder.resolve()
        try:
            relative = self.folder.relative_to(self.checkout)
        except ValueError:
            raise OutsideBase(f"{self.folder} is not below {self.checkout}") from None
        return resolve_inside(self.checkout, relative)
