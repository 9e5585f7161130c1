"""The Git sync reads a revision whole or not at all: submodules are checked out (recursively, at the
recorded commits), and a revision whose submodules cannot be checked out is refused, so the last good
revision stays in force and ``current`` never shows a smaller manifest set. Local bare repositories
by ``file://`` URL; no network.

Issue 14: manifests inside a submodule checked out as an empty folder, with no warning and
``last_error`` empty; with ``--prune`` the controller deleted the submodule's service and network.
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import yaml

from reconciler import API_VERSION
from reconciler.engine.planning import PlanOptions
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.git_command import GitSyncError
from reconciler.runtime.git_poller import GitPoller
from reconciler.runtime.git_submodules import submodule_protocols
from reconciler.runtime.git_sync import GitSync
from reconciler.swarm.fake import FakeSwarm
from tests.unit.git_fixtures import Repo, git, hermetic_git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(tmp_path, monkeypatch)


def network(name: str) -> str:
    return yaml.safe_dump({"apiVersion": API_VERSION, "kind": "Network", "metadata": {"name": name}, "spec": {}})


def names(folder: Path) -> set[str]:
    return {item.name for item in load_manifests(folder)}


@pytest.fixture
def shared(tmp_path: Path) -> Repo:
    """A repository of shared manifests, to be a submodule."""
    repo = Repo(tmp_path, "shared")
    repo.write({"shared-net.yaml": network("shared-net")})
    repo.commit("shared")
    return repo


@pytest.fixture
def top(tmp_path: Path, shared: Repo) -> Repo:
    """The manifests repository: its own network, and `shared` as the submodule manifests/shared."""
    repo = Repo(tmp_path, "top")
    repo.write({"manifests/net.yaml": network("net")})
    repo.add_submodule(shared, "manifests/shared")
    repo.commit("with a submodule")
    return repo


def test_a_submodule_is_checked_out_with_the_revision(tmp_path: Path, top: Repo) -> None:
    sync = GitSync(top.url, root=tmp_path / "git")
    sync.sync()
    assert names(sync.current_path / "manifests") == {"net", "shared-net"}


def test_the_controller_applies_what_a_submodule_holds(tmp_path: Path, top: Repo) -> None:
    sync = GitSync(top.url, root=tmp_path / "git")
    sync.sync()
    swarm = FakeSwarm()
    config = ControllerConfig(
        sync.current_path / "manifests", instance="subs", checkout=sync.current_path,
        options=PlanOptions(prune=True), watch=False, events=False, dependency_timeout_s=1,
    )  # fmt: skip
    Controller(config, swarm).pass_once()
    assert {n["Name"] for n in swarm.snapshot().networks} >= {"net", "shared-net"}


def test_the_same_submodule_commit_in_the_next_revision_is_checked_out_again(tmp_path: Path, top: Repo) -> None:
    sync = GitSync(top.url, root=tmp_path / "git")
    first = sync.sync()
    top.write({"manifests/more.yaml": network("more")})
    second = top.commit("unrelated change")
    assert sync.sync() == second != first
    assert names(sync.current_path / "manifests") == {"net", "more", "shared-net"}


def test_nested_submodules_and_relative_urls(tmp_path: Path, shared: Repo) -> None:
    inner = Repo(tmp_path, "inner")
    inner.write({"inner-net.yaml": network("inner-net")})
    inner.commit("inner")
    shared.add_submodule(inner, "inner")
    shared.commit("nested")
    top = Repo(tmp_path, "top")
    top.write({"manifests/net.yaml": network("net")})
    git("submodule", "add", "--quiet", "../shared.git", "manifests/shared", cwd=top.work)  # relative to top's URL
    top.commit("relative")
    assert "url = ../shared.git" in (top.work / ".gitmodules").read_text()
    sync = GitSync(top.url, root=tmp_path / "git")
    sync.sync()
    assert names(sync.current_path / "manifests") == {"net", "shared-net", "inner-net"}


def test_an_unreachable_submodule_refuses_the_revision_and_keeps_the_last_good_one(
    tmp_path: Path, top: Repo, shared: Repo
) -> None:
    sync = GitSync(top.url, root=tmp_path / "git")
    good = sync.sync()
    before = (sync.current_path).resolve()
    shared.write({"other.yaml": network("other")})
    shared.commit("moved on")
    git("submodule", "update", "--remote", "--quiet", "manifests/shared", cwd=top.work)
    top.commit("bump the submodule")
    shutil.rmtree(shared.bare)  # the submodule's commit can no longer be fetched
    with pytest.raises(GitSyncError, match="submodule"):
        sync.sync()
    assert sync.current_revision == good
    assert sync.current_path.resolve() == before
    assert names(sync.current_path / "manifests") == {"net", "shared-net"}
    assert not [p for p in (tmp_path / "git").iterdir() if p.name.startswith(".tmp-")]


def test_a_gitlink_without_a_url_refuses_the_revision(tmp_path: Path, shared: Repo) -> None:
    top = Repo(tmp_path, "top")
    top.write({"manifests/net.yaml": network("net")})
    sha = git("rev-parse", "HEAD", cwd=shared.work)
    git("add", "manifests/net.yaml", cwd=top.work)
    git("update-index", "--add", "--cacheinfo", f"160000,{sha},manifests/ghost", cwd=top.work)
    git(
        "commit", "--quiet", "-m", "a gitlink with no .gitmodules entry", cwd=top.work
    )  # not `add --all`: it drops the gitlink
    git("push", "--quiet", "origin", "HEAD:refs/heads/main", cwd=top.work)
    sync = GitSync(top.url, root=tmp_path / "git")
    with pytest.raises(GitSyncError, match="manifests/ghost"):
        sync.sync()
    assert not sync.current_path.exists()


def test_the_poller_reports_why_the_revision_was_refused(tmp_path: Path, shared: Repo) -> None:
    top = Repo(tmp_path, "top")
    top.add_submodule(shared, "manifests/shared")
    top.commit("submodule")
    shutil.rmtree(shared.bare)
    errors: list[Exception] = []
    done = threading.Event()

    def on_error(exc: Exception) -> None:
        errors.append(exc)
        done.set()

    poller = GitPoller(GitSync(top.url, root=tmp_path / "git"), 3600, on_revision=lambda sha: done.set(),
                       on_error=on_error)  # fmt: skip
    poller.start()
    try:
        assert done.wait(30)
    finally:
        poller.stop()
    assert errors and poller.revision is None
    assert "submodule" in str(poller.last_error)  # what /status shows under git.last_error


@pytest.mark.parametrize(
    ("url", "file_allowed"),
    [
        ("file:///srv/repo.git", True),
        ("/srv/repo.git", True),
        ("https://git.example.org/repo.git", False),
        ("ssh://git@git.example.org/repo.git", False),
        ("git@git.example.org:repo.git", False),
    ],
)
def test_submodules_use_the_file_transport_only_for_a_local_repository(url: str, file_allowed: bool) -> None:
    allowed = submodule_protocols(url, {}).split(":")
    assert ("file" in allowed) is file_allowed
    assert {"https", "ssh"} <= set(allowed)
    assert "ext" not in allowed
