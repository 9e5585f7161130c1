"""A remote ref → a checked-out revision folder behind an atomic symlink: the Git revision store.

``GitSync.sync()`` fetches ``ref`` from ``url`` into a bare cache and, when the ref moved, writes the
commit's tree into a fresh revision folder and swaps the ``current`` symlink to it, so a reader that
resolves ``current`` once always sees one complete revision::

    root/
      cache.git/          bare cache, fetched each sync (the URL is never stored in it)
      rev-<sha12>/        one complete revision per folder, submodules included; no .git
                          (a checked-out submodule has a .git file pointing into the cache)
      current -> rev-<sha12>

Called by ``reconciler.runtime.git_poller.GitPoller`` (on its interval and on the webhook's trigger);
the manager of ``reconciler run --git-url`` points the controller at ``current``. Each git command
runs through ``reconciler.runtime.git_command.run_git``; every error is a ``GitSyncError`` without
credentials from the URL. A revision is read whole or not at all: its submodules are checked out
(``reconciler.runtime.git_submodules``), and when that fails the sync fails and ``current`` stays.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import shutil
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from reconciler.runtime.git_command import GitSyncError, redact_credentials, run_git
from reconciler.runtime.git_submodules import check_out_submodules

__all__ = ["GitSync"]

log = logging.getLogger(__name__)

CACHE_DIR = "cache.git"
CURRENT_LINK = "current"
REV_PREFIX = "rev-"
# Everything this module writes before it is complete starts with this prefix, so a leftover from a
# crash is recognisable and removed on the next sync, and a folder named rev-* is always complete.
TMP_PREFIX = ".tmp-"
# The fetched commit is kept under this ref (not only in FETCH_HEAD) so it survives gc in the cache.
TARGET_REF = "refs/reconciler/target"


class GitSync:
    """Keeps ``root/current`` pointing at a complete checkout of ``ref`` from ``url``.

    One ``GitSync`` (one process) per ``root``: leftovers of interrupted syncs under ``root`` are
    removed at the start of each sync. ``keep`` counts the revision folders kept, the current one
    included; the current one is never removed.
    """

    def __init__(
        self,
        url: str,
        ref: str = "main",
        *,
        root: Path,
        keep: int = 3,
        timeout: float = 120.0,
        git: str = "git",
    ) -> None:
        if not url or url.startswith("-"):
            # A leading dash would be read by git as an option.
            raise ValueError(f"invalid Git URL {redact_credentials(url, url)!r}")
        if not ref or ref.startswith("-") or any(c.isspace() or c == ":" or ord(c) < 32 for c in ref):
            # ':' would turn the ref into a refspec of its own.
            raise ValueError(f"invalid Git ref {ref!r}")
        if keep < 1:
            raise ValueError(f"keep must be at least 1, not {keep}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self._url = url
        self.ref = ref
        self.root = Path(root)
        self.keep = keep
        self.timeout = timeout
        self.git = git
        self._current: str | None = None
        self._lock = threading.Lock()
        self._last_stamp = 0

    @property
    def url(self) -> str:
        """The URL with any credentials redacted (the real one is only handed to git)."""
        return redact_credentials(self._url, self._url)

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    @property
    def current_path(self) -> Path:
        """The symlink readers resolve (once per read of a revision)."""
        return self.root / CURRENT_LINK

    @property
    def current_revision(self) -> str | None:
        """The full SHA checked out by this object's last successful sync; None before the first."""
        return self._current

    def __repr__(self) -> str:
        return f"GitSync(url={self.url!r}, ref={self.ref!r}, root={str(self.root)!r}, keep={self.keep})"

    def sync(self, cancel: threading.Event | None = None) -> str:
        """Fetch the ref and make ``current`` point at its commit; returns that commit's SHA.

        Nothing under ``root`` is rewritten when the ref did not move. On any error ``current`` is
        left as it was. ``cancel`` aborts a running git command (raising ``GitSyncError``).
        """
        with self._lock:
            try:
                return self._sync(cancel)
            except OSError as exc:
                raise GitSyncError(f"sync of {self.url} ({self.ref}) into {self.root} failed: {exc}") from exc

    def _sync(self, cancel: threading.Event | None) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_leftovers()
        self._ensure_cache(cancel)
        self._git(
            "fetch",
            [
                "-c",
                "gc.autoDetach=false",  # an automatic gc runs inside our timeout, not behind our back
                "--git-dir",
                str(self.cache_dir),
                "fetch",
                "--quiet",
                "--no-tags",
                "--no-recurse-submodules",
                # FETCH_HEAD would record the URL; the target ref is all we need.
                "--no-write-fetch-head",
                "--",
                self._url,
                f"+{self.ref}:{TARGET_REF}",
            ],
            cancel,
        )
        sha = self._git(
            "rev-parse",
            ["--git-dir", str(self.cache_dir), "rev-parse", "--verify", "--quiet", f"{TARGET_REF}^{{commit}}"],
            cancel,
        ).strip()
        if not re.fullmatch(r"[0-9a-f]{40}|[0-9a-f]{64}", sha):
            raise GitSyncError(f"{self.ref} of {self.url} did not resolve to a commit (got {sha!r})")
        name = REV_PREFIX + sha[:12]
        revision_dir = self.root / name
        if self._link_target() == name and revision_dir.is_dir():
            self._current = sha
            return sha
        if not revision_dir.is_dir():
            self._materialise(sha, revision_dir, cancel)
        self._swap(name)
        self._current = sha
        self._prune(name)
        return sha

    def _ensure_cache(self, cancel: threading.Event | None) -> None:
        if (self.cache_dir / "HEAD").is_file():
            return
        # Re-running init on a half-made cache is harmless, so no temp folder is needed here.
        self._git("init", ["init", "--bare", "--quiet", str(self.cache_dir)], cancel)

    def _materialise(self, sha: str, revision_dir: Path, cancel: threading.Event | None) -> None:
        """Write the commit's tree, with its submodules, into a temp folder, then rename it to
        ``revision_dir``; ``GitSyncError`` (and no folder) when any part cannot be checked out."""
        tmp_dir = Path(self._tmp_name(f"rev-{sha[:12]}-"))
        tmp_dir.mkdir(mode=0o755)
        # A private index file: the cache's own index is neither used nor touched, and no
        # worktree metadata or hooks are involved.
        index = Path(self._tmp_name("index-"))
        common = ["--git-dir", str(self.cache_dir), "--work-tree", str(tmp_dir)]
        try:
            env = {"GIT_INDEX_FILE": str(index)}
            self._git("read-tree", [*common, "read-tree", sha], cancel, env=env, cwd=tmp_dir)
            self._git("checkout-index", [*common, "checkout-index", "--all", "--force"], cancel, env=env, cwd=tmp_dir)
            check_out_submodules(
                lambda what, args, extra: self._git(what, args, cancel, env={**env, **extra}, cwd=tmp_dir),
                common,
                self._url,
            )
            # The folder only gets its rev-* name once every file is written.
            os.rename(tmp_dir, revision_dir)
        except BaseException:
            shutil.rmtree(tmp_dir, ignore_errors=True)
            raise
        finally:
            index.unlink(missing_ok=True)

    def _swap(self, name: str) -> None:
        """Point ``current`` at ``name`` with one rename, so readers see the old or the new target."""
        # The stamp orders revisions for pruning by when they became current; file-system
        # timestamps are too coarse (milliseconds) to order fast syncs on their own.
        self._last_stamp = max(time.time_ns(), self._last_stamp + 1)
        os.utime(self.root / name, ns=(self._last_stamp, self._last_stamp))
        tmp_link = self._tmp_name("current-")
        # Relative, so the root can be mounted elsewhere (another container) and still resolve.
        os.symlink(name, tmp_link)
        try:
            os.replace(tmp_link, self.current_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp_link)
            raise
        _fsync_dir(self.root)

    def _prune(self, current_name: str) -> None:
        """Remove revision folders beyond ``keep`` (oldest first), never ``current_name``."""
        try:
            revisions = [
                entry
                for entry in os.scandir(self.root)
                if entry.name.startswith(REV_PREFIX) and entry.is_dir(follow_symlinks=False)
            ]
            revisions.sort(key=lambda e: (e.name == current_name, e.stat(follow_symlinks=False).st_mtime_ns))
            surplus = len(revisions) - self.keep
            for entry in revisions[: max(surplus, 0)]:
                if entry.name == current_name:
                    continue
                # Renamed away first, so a half-deleted folder never carries a rev-* name.
                trash = self._tmp_name("trash-")
                os.rename(entry.path, trash)
                shutil.rmtree(trash, ignore_errors=True)
        except OSError as exc:
            # The swap already happened; a failed clean-up must not turn a good sync into an error.
            log.warning("pruning old revisions under %s failed: %s", self.root, exc)

    def _remove_leftovers(self) -> None:
        for entry in os.scandir(self.root):
            if not entry.name.startswith(TMP_PREFIX):
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path, ignore_errors=True)
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)

    def _link_target(self) -> str | None:
        try:
            return os.readlink(self.current_path)
        except OSError:
            return None

    def _tmp_name(self, stem: str) -> str:
        return str(self.root / f"{TMP_PREFIX}{stem}{secrets.token_hex(4)}")

    def _git(
        self,
        what: str,
        args: Sequence[str],
        cancel: threading.Event | None,
        *,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
    ) -> str:
        """Run git with ``args``; its stdout, or ``GitSyncError`` with its (redacted) stderr."""
        return run_git(
            self.git,
            args,
            context=f"git {what} of {self.url} ({self.ref})",
            url=self._url,
            timeout=self.timeout,
            cancel=cancel,
            env=env,
            cwd=cwd,
        )


def _fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable, so a restart finds the new ``current``."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
