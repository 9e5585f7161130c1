"""The built-in Git poller: a remote ref turns into a checked-out revision folder behind an atomic symlink.

``GitSync.sync()`` fetches ``ref`` from ``url`` into a bare cache and, when the ref moved, writes the
commit's tree into a fresh revision folder and swaps the ``current`` symlink to it, so a reader that
resolves ``current`` once always sees one complete revision::

    root/
      cache.git/          bare cache, fetched each sync (the URL is never stored in it)
      rev-<sha12>/        one complete revision per folder, no .git
      current -> rev-<sha12>

``GitPoller`` runs ``sync()`` in a thread every ``interval`` seconds and at once on ``trigger()``
(which the ``POST /hooks/git`` webhook calls after ``verify_signature`` accepted the request), and
reports a new revision or a failure through callbacks. The controller (``reconciler run --git-url``)
owns the poller and reloads the manifests under ``current`` on each new revision.

Git runs as a subprocess (no shell, a timeout, no prompts); every error becomes ``GitSyncError``
with git's stderr and any credentials in the URL redacted.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import unquote

__all__ = [
    "GitPoller",
    "GitSync",
    "GitSyncError",
    "redact_credentials",
    "verify_signature",
]

log = logging.getLogger(__name__)

CACHE_DIR = "cache.git"
CURRENT_LINK = "current"
REV_PREFIX = "rev-"
# Everything this module writes before it is complete starts with this prefix, so a leftover from a
# crash is recognisable and removed on the next sync, and a folder named rev-* is always complete.
TMP_PREFIX = ".tmp-"
# The fetched commit is kept under this ref (not only in FETCH_HEAD) so it survives gc in the cache.
TARGET_REF = "refs/reconciler/target"
# Transports a URL may use: ext:: and fd:: would let a URL run arbitrary commands.
ALLOWED_PROTOCOLS = "file:git:http:https:ssh"
# How often a running git command looks at the cancel event; bounds how late stop() can be.
POLL_SLICE = 0.2

_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


class GitSyncError(Exception):
    """A sync failed: git missing, bad URL, unknown ref, timeout, cancelled, or a file-system error.

    The message and ``stderr`` never contain credentials from the URL.
    """

    def __init__(self, message: str, *, stderr: str = "", returncode: int | None = None) -> None:
        super().__init__(message)
        self.stderr = stderr
        self.returncode = returncode


def redact_credentials(text: str, url: str = "") -> str:
    """``text`` with the user-info of any ``scheme://user:secret@`` replaced by ``***@``.

    Also removes the literal user-info of ``url`` (raw and percent-decoded), in case git or a
    credential helper echoed it outside a URL.
    """
    secrets_in_url: list[str] = []
    match = re.search(r"://([^/@\s]+)@", url)
    if match:
        userinfo = match.group(1)
        secrets_in_url += [userinfo, unquote(userinfo)]
        _, _, password = userinfo.partition(":")
        if password:
            secrets_in_url += [password, unquote(password)]
    # Longest first so a password inside the user-info does not leave the user-info half replaced.
    for secret in sorted({s for s in secrets_in_url if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return _USERINFO.sub("***@", text)


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    """Whether ``header`` (GitHub's ``X-Hub-Signature-256``) signs the raw ``body`` with ``secret``.

    The header is ``sha256=<hex HMAC-SHA256 of the body>``. A missing or malformed header, or an
    empty secret (anyone can compute an HMAC with an empty key), is rejected. The digests are
    compared in constant time.
    """
    if not secret or header is None:
        return False
    scheme, sep, hex_digest = header.strip().partition("=")
    if not sep or scheme.strip().lower() != "sha256":
        return False
    hex_digest = hex_digest.strip()
    if len(hex_digest) != 64:
        return False
    try:
        given = bytes.fromhex(hex_digest)
    except ValueError:
        return False
    expected = hmac.new(secret, body, hashlib.sha256).digest()
    return hmac.compare_digest(expected, given)


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
        """Write the commit's tree into a temp folder, then rename it to ``revision_dir``."""
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
        full_env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",
            "GCM_INTERACTIVE": "never",
            "GIT_ALLOW_PROTOCOL": os.environ.get("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS),
            # English messages, so errors read the same in logs and tests.
            "LC_ALL": "C",
            **(env or {}),
        }
        # Only the per-call index file is ours to point at; an inherited one would be wrong.
        if env is None or "GIT_INDEX_FILE" not in env:
            full_env.pop("GIT_INDEX_FILE", None)
        context = f"git {what} of {self.url} ({self.ref})"
        try:
            proc = subprocess.Popen(
                [self.git, *args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=full_env,
                cwd=cwd,
                text=True,
                errors="replace",
                # A session of its own: no controlling terminal (so ssh cannot prompt for a
                # password), and the whole group (git-remote-https, ssh, ...) can be killed.
                start_new_session=True,
            )
        except FileNotFoundError as exc:
            raise GitSyncError(f"{context}: the git executable {self.git!r} was not found") from exc
        except OSError as exc:
            raise GitSyncError(f"{context}: cannot run {self.git!r}: {exc}") from exc
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                stdout, stderr = proc.communicate(timeout=max(0.0, min(POLL_SLICE, deadline - time.monotonic())))
                break
            except subprocess.TimeoutExpired:
                if time.monotonic() >= deadline:
                    _kill_group(proc)
                    raise GitSyncError(f"{context} timed out after {self.timeout:g} s") from None
                if cancel is not None and cancel.is_set():
                    _kill_group(proc)
                    raise GitSyncError(f"{context} was cancelled") from None
        if proc.returncode != 0:
            clean = redact_credentials(stderr.strip(), self._url)
            detail = clean or f"exit status {proc.returncode}"
            raise GitSyncError(f"{context} failed: {detail}", stderr=clean, returncode=proc.returncode)
        return stdout


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    # The group is dead, so its pipes close and this returns at once.
    proc.communicate()


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


class GitPoller:
    """Runs ``sync.sync()`` in a thread every ``interval`` seconds and at once on ``trigger()``.

    ``on_revision(sha)`` is called when the checked-out revision changed (the first sync counts);
    ``on_error(exc)`` when a sync failed; ``current`` then stays on the last good revision and the
    next attempt comes at the next interval or trigger. Exceptions from the callbacks are logged and
    do not stop the thread. ``stop_event`` (a fresh one if not given) ends the thread when set; a
    running git command is cancelled, so ``stop()`` returns within about a second.
    """

    def __init__(
        self,
        sync: GitSync,
        interval: float,
        on_revision: Callable[[str], None],
        on_error: Callable[[Exception], None] | None = None,
        *,
        stop_event: threading.Event | None = None,
        name: str = "git-poller",
    ) -> None:
        if interval <= 0:
            raise ValueError(f"interval must be positive, not {interval}")
        self.sync = sync
        self.interval = interval
        self.on_revision = on_revision
        self.on_error = on_error
        self.stop_event = stop_event if stop_event is not None else threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._revision: str | None = None
        self.last_error: Exception | None = None
        self.last_success: float | None = None  # time.time() of the last successful sync

    @property
    def revision(self) -> str | None:
        """The SHA of the last successful sync; None before it."""
        return self._revision

    def start(self) -> None:
        self._thread.start()

    def trigger(self) -> None:
        """Sync as soon as possible (a sync running now is followed by another)."""
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Set the stop event and wait up to ``timeout`` seconds for the thread to end."""
        self.stop_event.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self.stop_event.is_set():
            # Cleared before the sync, so a trigger that arrives while git is fetching (and may
            # have missed the pushed commit) causes one more sync right after.
            self._wake.clear()
            self._sync_once()
            self._wait()

    def _sync_once(self) -> None:
        try:
            sha = self.sync.sync(cancel=self.stop_event)
        except Exception as exc:
            if self.stop_event.is_set():
                return  # cancelled on the way out; not worth reporting
            self.last_error = exc
            log.warning("git sync failed: %s", exc)
            if self.on_error is not None:
                self._call(functools.partial(self.on_error, exc), "on_error")
            return
        self.last_error = None
        self.last_success = time.time()
        if sha != self._revision:
            self._revision = sha
            self._call(functools.partial(self.on_revision, sha), "on_revision")

    def _wait(self) -> None:
        deadline = time.monotonic() + self.interval
        while not self.stop_event.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            # Bounded slices: an external stop_event set without stop() is noticed within one.
            if self._wake.wait(min(remaining, 0.5)):
                return

    @staticmethod
    def _call(call: Callable[[], None], what: str) -> None:
        try:
            call()
        except Exception:
            log.exception("git poller callback %s failed", what)
