"""Local Git repositories for the Git-sync tests of issue 14 (a manifest folder that is a symlink out
of the checkout, manifests inside a submodule): ``Repo`` is a bare repository plus a work clone that
commits and pushes to it, by ``file://`` URL; ``hermetic_git`` keeps the machine's and the user's git
configuration out. No network: every URL is a local path.

Used by ``test_manifest_root_confined.py`` and ``test_git_sync_submodules.py``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "test",
    "GIT_AUTHOR_EMAIL": "test@example.invalid",
    "GIT_COMMITTER_NAME": "test",
    "GIT_COMMITTER_EMAIL": "test@example.invalid",
}


def hermetic_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty global config, no system config, a fixed identity (call it from an autouse fixture)."""
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var, value in GIT_IDENTITY.items():
        monkeypatch.setenv(var, value)


def git(*args: str, cwd: Path | None = None) -> str:
    """Run git (file:// allowed for submodules, which git refuses by default since 2.38.1)."""
    done = subprocess.run(
        ["git", "-c", "protocol.file.allow=always", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
    )
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class Repo:
    """A bare repository at ``base/<name>.git`` (its ``url`` is ``file://…``) and a work clone."""

    def __init__(self, base: Path, name: str = "upstream", branch: str = "main") -> None:
        self.bare = base / f"{name}.git"
        self.work = base / f"{name}-work"
        self.branch = branch
        git("init", "--quiet", "--bare", "-b", branch, str(self.bare))
        git("init", "--quiet", "-b", branch, str(self.work))
        git("remote", "add", "origin", self.url, cwd=self.work)

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def symlink(self, rel: str, target: str) -> None:
        path = self.work / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)

    def remove(self, rel: str) -> None:
        git("rm", "-r", "--quiet", rel, cwd=self.work)

    def add_submodule(self, other: Repo, rel: str) -> None:
        git("submodule", "add", "--quiet", other.url, rel, cwd=self.work)

    def commit(self, message: str = "change") -> str:
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)
