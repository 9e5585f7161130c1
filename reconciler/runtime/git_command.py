"""One git command → its stdout, or a ``GitSyncError`` that never carries credentials.

``run_git`` runs git as a subprocess: no shell, no stdin, no prompts (no terminal either, so ssh cannot
ask for a password), only the transports in ``ALLOWED_PROTOCOLS``, English messages, a timeout, and a
cancel event looked at every ``POLL_SLICE`` seconds; on timeout or cancel the whole process group is
killed. Any failure becomes ``GitSyncError`` with git's stderr, where ``redact_credentials`` has
replaced the user-info of the URL. Called by ``reconciler.runtime.git_sync.GitSync``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

__all__ = ["ALLOWED_PROTOCOLS", "POLL_SLICE", "GitSyncError", "redact_credentials", "run_git"]

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


def run_git(
    git: str,
    args: Sequence[str],
    *,
    context: str,
    url: str,
    timeout: float,
    cancel: threading.Event | None = None,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> str:
    """Run the executable ``git`` with ``args``; its stdout, or ``GitSyncError`` with its (redacted) stderr.

    ``context`` starts every error message (e.g. ``"git fetch of <redacted url> (main)"``); ``url`` is
    the real URL, whose credentials are removed from stderr; ``timeout`` is in seconds; ``env`` is
    added to the environment (``GIT_INDEX_FILE`` only passes when given here).
    """
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
    try:
        proc = subprocess.Popen(
            [git, *args],
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
        raise GitSyncError(f"{context}: the git executable {git!r} was not found") from exc
    except OSError as exc:
        raise GitSyncError(f"{context}: cannot run {git!r}: {exc}") from exc
    deadline = time.monotonic() + timeout
    while True:
        try:
            stdout, stderr = proc.communicate(timeout=max(0.0, min(POLL_SLICE, deadline - time.monotonic())))
            break
        except subprocess.TimeoutExpired:
            if time.monotonic() >= deadline:
                _kill_group(proc)
                raise GitSyncError(f"{context} timed out after {timeout:g} s") from None
            if cancel is not None and cancel.is_set():
                _kill_group(proc)
                raise GitSyncError(f"{context} was cancelled") from None
    if proc.returncode != 0:
        clean = redact_credentials(stderr.strip(), url)
        detail = clean or f"exit status {proc.returncode}"
        raise GitSyncError(f"{context} failed: {detail}", stderr=clean, returncode=proc.returncode)
    return stdout


def _kill_group(proc: subprocess.Popen[str]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    # The group is dead, so its pipes close and this returns at once.
    proc.communicate()
