"""A manifest path (file or folder) to the sorted list of YAML files to read, and where each may look.

Rules (SPEC.md): ``*.yaml``/``*.yml`` found recursively; hidden files and folders skipped; a symlink
that leaves the root is refused. The root itself is resolved once, up front: a Git-sync that swaps a
``current -> rev-…`` symlink is therefore read as one revision even if it swaps again meanwhile.
Called by ``reconciler.manifests.loading``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.manifests.errors import ManifestProblem, Position

__all__ = ["Discovery", "discover", "inside"]

_SUFFIXES = (".yaml", ".yml")


@dataclass
class Discovery:
    root: Path  # resolved: every file and `file:` reference must stay below it
    files: list[tuple[Path, str]] = field(default_factory=list)  # (resolved path, name shown to the user)
    problems: list[ManifestProblem] = field(default_factory=list)


def inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def discover(path: Path) -> Discovery:
    shown = str(path)
    if not path.exists():
        found = Discovery(root=path.absolute())
        found.problems.append(ManifestProblem(Position(shown, 1, 1), "-", "-", "no such file or folder"))
        return found
    resolved = path.resolve()
    if resolved.is_file():
        found = Discovery(root=resolved.parent)
        found.files.append((resolved, shown))
        return found
    found = Discovery(root=resolved)
    _walk(found, resolved, shown, set())
    found.files.sort(key=lambda item: item[1])
    return found


def _walk(found: Discovery, folder: Path, shown: str, seen: set[Path]) -> None:
    if folder in seen:  # a symlink loop inside the root
        return
    seen.add(folder)
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        found.problems.append(ManifestProblem(Position(shown, 1, 1), "-", "-", f"cannot read folder: {exc.strerror}"))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        entry_shown = os.path.join(shown, entry.name)
        is_dir = entry.is_dir(follow_symlinks=True)
        if not is_dir and not entry.name.endswith(_SUFFIXES):
            continue
        target = Path(entry.path)
        if entry.is_symlink():
            target = target.resolve()
            if not inside(target, found.root):
                found.problems.append(
                    ManifestProblem(
                        Position(entry_shown, 1, 1),
                        "-",
                        "-",
                        "symlink points outside the manifest root: refused",
                    )
                )
                continue
        if is_dir:
            _walk(found, target, entry_shown, seen)
        elif target.is_file():
            found.files.append((target, entry_shown))
        else:
            found.problems.append(ManifestProblem(Position(entry_shown, 1, 1), "-", "-", "not a readable file"))
