"""Files the importers write below ``--out``, never through a symbolic link.

``--out`` is often a folder that exists already (a Git checkout, an earlier import), and what is in
it may come from someone else: a ``service-web.yaml`` that links to ``~/.bashrc``, or a ``files``
that links to another folder, would have had a manifest or a copied secret written where the link
points. So every folder below ``--out`` on the way to a file, and the file itself, must not be a
link (``--out`` itself is what the operator named, and is taken as it is); the file is opened with
``O_NOFOLLOW`` so that a link made meanwhile is not followed either. A secret's copy is made
readable by its owner only (0600), as its source should be. Used by ``yaml_emit.write_documents``
(both importers) and ``compose_import.write_copies``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path, PurePath

__all__ = ["write_inside"]


def _refuse_link(path: Path) -> None:
    if path.is_symlink():
        raise OSError(errno.ELOOP, "a symbolic link: not written through", str(path))


def write_inside(folder: Path, relative: PurePath | str, data: bytes, private: bool = False) -> Path:
    """Write ``data`` to ``folder / relative``, making the folders on the way; ``OSError`` when a
    folder on the way or the file is a symbolic link. ``private``: mode 0600 (a secret's content)."""
    folder.mkdir(parents=True, exist_ok=True)
    parts = PurePath(relative).parts
    if not parts or any(part in ("..", "") for part in parts) or PurePath(relative).is_absolute():
        raise OSError(errno.EINVAL, "not a path inside the output folder", str(relative))
    here = folder
    for part in parts[:-1]:
        here = here / part
        _refuse_link(here)
        here.mkdir(exist_ok=True)
    target = here / parts[-1]
    _refuse_link(target)
    mode = 0o600 if private else 0o644
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), mode)
    with os.fdopen(fd, "wb") as handle:
        if private:
            os.fchmod(handle.fileno(), mode)  # an existing file keeps its mode through O_CREAT
        handle.write(data)
    return target
