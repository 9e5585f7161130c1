"""A revision's freshly written work tree → the same tree with every submodule checked out (recursively),
or a ``GitSyncError``: a Git revision is read whole or not at all.

Without this, a submodule's folder checks out empty, and the manifests inside it read as deleted:
with ``--prune`` the controller removed a submodule's service and network (issue 14). Called by
``reconciler.runtime.git_sync.GitSync`` before a revision folder gets its ``rev-*`` name; every git
command goes through the sync's own runner, so the no-prompt, no-terminal, allowed-transport and
credential-redaction rules of ``reconciler.runtime.git_command.run_git`` hold for submodules too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping, Sequence

from reconciler.runtime.git_command import ALLOWED_PROTOCOLS, GitSyncError

__all__ = ["GitRunner", "check_out_submodules", "submodule_protocols"]

GitRunner = Callable[[str, Sequence[str], Mapping[str, str]], str]
"""``(what, args, extra environment) -> stdout``: one git command in the revision's work tree."""

_GITLINK = "160000 "  # the index mode of a submodule entry (`git ls-files --stage`)
_USERINFO = re.compile(r"://[^/@\s]+@")
_REMOTE_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://|^[^/:]+:")  # url://… or scp-like host:path


def submodule_protocols(url: str, environ: Mapping[str, str] = os.environ) -> str:
    """The transports submodules may use: the sync's own (``$GIT_ALLOW_PROTOCOL`` or
    ``ALLOWED_PROTOCOLS``), without ``file`` unless the repository itself is local. Submodule URLs
    come from the repository's ``.gitmodules``: a committer must not make the controller read other
    repositories on its own machine."""
    allowed = environ.get("GIT_ALLOW_PROTOCOL", ALLOWED_PROTOCOLS).split(":")
    local = url.startswith("file:") or not _REMOTE_SCHEME.match(url)
    return ":".join(p for p in allowed if p and (local or p != "file"))


def check_out_submodules(git: GitRunner, common: Sequence[str], url: str) -> None:
    """Check out every submodule of the work tree that ``common`` (``--git-dir … --work-tree …``) names,
    recursively, at the commits the revision records; nothing when it has none.

    Relative submodule URLs (``../lib.git``) resolve against ``url`` when it carries no credentials
    (they would be stored in the cache's config); otherwise such a submodule fails. Raises
    ``GitSyncError`` when any submodule cannot be fetched, has no URL in ``.gitmodules``, or is not
    at its recorded commit afterwards.
    """
    staged = git("ls-files", [*common, "ls-files", "--stage", "-z"], {})
    if not any(entry.startswith(_GITLINK) for entry in staged.split("\0")):
        return
    relative_base = [] if _USERINFO.search(url) else ["-c", f"remote.origin.url={url}"]
    git(
        "submodule update",
        # --checkout: a `submodule.<name>.update = none` in .gitmodules must not leave one out.
        [*relative_base, *common, "submodule", "update", "--init", "--recursive", "--checkout"],
        {"GIT_ALLOW_PROTOCOL": submodule_protocols(url)},
    )
    status = git("submodule status", [*common, "submodule", "status", "--recursive"], {})
    # ' ' = at the recorded commit; '-' not checked out, '+' another commit, 'U' conflicts.
    incomplete = [line.strip() for line in status.splitlines() if line and not line.startswith(" ")]
    if incomplete:
        raise GitSyncError(f"submodules not checked out completely: {'; '.join(incomplete)}")
