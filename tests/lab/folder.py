"""Where a lab lives and what is checked before anything is started or deleted there, for the
single-node ``Lab`` (``engine.py``) and the three-node ``MultiNodeLab`` (``multinode/lab.py``), which
had a copy each: the folder (given, else from an environment variable, else a default) must be
absolute and at least two levels below ``/`` (``down()`` deletes it); every Unix socket path under it
must fit ``sun_path``; ``lab.json`` is read as a mapping or not at all, and written whole (a temporary
file renamed over it)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.lab.host import LabError, _read

__all__ = ["UNIX_PATH_MAX", "check_socket_paths", "lab_folder", "read_state", "update_state", "write_state"]

UNIX_PATH_MAX = 107  # sun_path is 108 bytes including the terminating NUL


def lab_folder(root: str | os.PathLike[str] | None, env_var: str, default: str, what: str) -> Path:
    """``root``, else ``$env_var``, else ``default``: absolute and normalised. ``what`` names it in
    errors ("lab folder", "multi-node lab folder")."""
    raw = os.fspath(root) if root is not None else os.environ.get(env_var) or default
    path = Path(raw)
    if not path.is_absolute():
        raise LabError(f"{what} must be an absolute path, got {raw!r}")
    path = Path(os.path.normpath(path))
    if len(path.parts) < 3:
        raise LabError(f"{what} {path} is too close to / to be deleted safely; use e.g. {default}")
    return path


def check_socket_paths(sockets: Iterable[Path]) -> None:
    for sock in sockets:
        if len(os.fsencode(sock)) > UNIX_PATH_MAX:
            raise LabError(f"socket path {sock} is longer than {UNIX_PATH_MAX} bytes; use a shorter lab folder")


def read_state(state_file: Path) -> dict[str, Any] | None:
    """The content of lab.json, or None if there is none (or it is unreadable)."""
    text = _read(state_file)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def write_state(state_file: Path, state: dict[str, Any]) -> None:
    tmp = state_file.with_suffix(".tmp")
    tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
    tmp.replace(state_file)


def update_state(state_file: Path, **changes: Any) -> None:
    write_state(state_file, {**(read_state(state_file) or {}), **changes})
