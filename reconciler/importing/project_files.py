"""Which files a compose import may read, and how much of them.

A compose file names other files: configs' and secrets' ``file:`` (copied below ``--out``, so into
the folder that becomes a Git repository) and services' ``env_file`` (read into manifests'
``env``). ``docker stack deploy`` reads any path it is given; an import of a compose file from
elsewhere must not carry ``/etc/shadow``, ``~/.aws/credentials`` or ``/proc/self/environ`` into a
manifest folder. So a referenced file must be, after every symlink is followed, inside the compose
project's folder (the first file's folder, against which compose resolves relative paths: docker-cli
``loader`` with the stack's working dir), a regular file (a named pipe would block the read forever,
``/dev/zero`` never end), and at most ``limit`` bytes; otherwise ``ProjectFileError`` says why, and
the caller reports the key as not imported. The compose files themselves are read with the same
bounded, regular-file-only read (``read_bounded``), wherever they are. The read mirrors
``manifests.loading``'s for manifest files.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

__all__ = ["ProjectFileError", "project_file", "read_bounded"]


class ProjectFileError(ValueError):
    """A referenced file the import does not read; the message says why and what to do."""


def read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit`` bytes of ``path``; OSError unless it is a regular file (checked before
    opening, without blocking on a pipe, and again on the open descriptor)."""
    if not stat.S_ISREG(os.stat(path).st_mode):
        raise OSError(0, "not a regular file", str(path))
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise OSError(0, "not a regular file", str(path))
        return handle.read(limit)


def project_file(folder: Path, written: str, limit: int) -> tuple[Path, bytes]:
    """The real path and content of the file ``written`` in a compose file whose project folder is
    ``folder``; ``ProjectFileError`` when it is outside the folder, no regular file or over ``limit``."""
    root = folder.resolve()
    target = (folder / written).resolve()
    if target != root and root not in target.parents:
        shown = written if Path(written) == target else f"{written} is {target},"
        raise ProjectFileError(
            f"{shown} outside the compose folder {root} (symlinks followed): not read, "
            "so that no file from elsewhere lands in the manifests; copy it into the folder to import it"
        )
    try:
        data = read_bounded(target, limit + 1)
    except FileNotFoundError:
        raise ProjectFileError(f"{target} does not exist") from None
    except OSError as exc:
        raise ProjectFileError(f"{target}: cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ProjectFileError(f"{target} is larger than {limit} bytes: not read")
    return target, data
