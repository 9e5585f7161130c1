"""A manifest path (file or folder) to the sorted list of YAML files to read, and where each may look.

Rules (SPEC.md): ``*.yaml``/``*.yml`` found recursively; hidden files and folders skipped; a symlink
that leaves the root is refused. The root itself is resolved once, up front: a Git-sync that swaps a
``current -> rev-…`` symlink is therefore read as one revision even if it swaps again meanwhile.
Called by ``reconciler.manifests.loading``; ``resolve_inside`` by ``reconciler.runtime.manifest_source``,
which confines a root inside a Git checkout before loading it.
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path, PurePath

from reconciler.manifests.errors import ManifestProblem, Position

__all__ = ["Discovery", "OutsideBase", "discover", "inside", "resolve_inside"]

_SUFFIXES = (".yaml", ".yml")
_MAX_LINKS = 40  # Linux's own limit on symlinks followed in one lookup (ELOOP)


@dataclass
class Discovery:
    root: Path  # resolved: every file and `file:` reference must stay below it
    files: list[tuple[Path, str]] = field(default_factory=list)  # (resolved path, name shown to the user)
    problems: list[ManifestProblem] = field(default_factory=list)


def inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class OutsideBase(ValueError):
    """``resolve_inside`` met a step (``..`` or a symlink's target) that leaves its base."""


def resolve_inside(base: Path, relative: PurePath) -> Path:
    """``base / relative`` with every symlink on the way resolved, one component at a time, each step
    required to stay inside ``base`` (itself resolved first). Raises ``OutsideBase`` naming the step
    that leaves it, or too many links. Components that do not exist are kept as they are (the
    loader then says "no such file or folder").

    A final ``resolve()`` would only see where the path ends, not a link that leaves the checkout
    and one that comes back: the manifest root of a Git revision must not depend on anything
    outside that revision (issue 14).
    """
    base = base.resolve()
    if relative.is_absolute():
        raise OutsideBase(f"{relative} is not a path inside {base}")
    current = base
    pending = deque(relative.parts)
    links = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        step = current.parent if part == ".." else current / part
        if not inside(step, base):
            raise OutsideBase(f"{step} is outside {base}")
        if not step.is_symlink():
            current = step
            continue
        links += 1
        if links > _MAX_LINKS:
            raise OutsideBase(f"more than {_MAX_LINKS} symlinks below {base}")
        target = PurePath(os.readlink(step))
        if target.is_absolute():
            # Followed only when the target itself names a place inside base; it is then walked from there.
            normal = Path(os.path.normpath(target))
            if not inside(normal, base):
                raise OutsideBase(f"the symlink {step} points outside {base}, to {target}")
            current = base
            pending.extendleft(reversed(normal.relative_to(base).parts))
        else:
            pending.extendleft(reversed(target.parts))  # relative to the link's own folder: current
    return current


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
