"""When a Git sync feeds the manifest folder, that folder and every path it resolves through stay
inside the checked-out revision: a revision whose ``--manifests`` folder is, or passes through, a
symlink that leads out of the checkout is refused, the last good revision stays in force, and
``/status`` (``last_error``) says why. A plain folder may itself be a symlink; links below it are
refused as before.

Issue 14: a commit that replaced the manifests folder by a link to a host path was loaded and
applied, and with ``--prune`` the previous revision's objects were deleted; ``last_error`` stayed empty.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from reconciler import API_VERSION
from reconciler.engine.planning import PlanOptions
from reconciler.manifests.discovery import OutsideBase, resolve_inside
from reconciler.manifests.errors import ManifestError
from reconciler.manifests.loading import load_manifests
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.git_sync import GitSync
from reconciler.runtime.manager import EXIT_CANNOT_START, Manager
from reconciler.runtime.manifest_source import Loaded, ManifestSource, Refused
from reconciler.runtime.settings import RunSettings
from reconciler.swarm.fake import FakeSwarm
from tests.unit.git_fixtures import Repo, hermetic_git

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")


@pytest.fixture(autouse=True)
def _hermetic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hermetic_git(tmp_path, monkeypatch)


def network(name: str) -> str:
    return yaml.safe_dump({"apiVersion": API_VERSION, "kind": "Network", "metadata": {"name": name}, "spec": {}})


def network_names(swarm: FakeSwarm) -> set[str]:
    return {n["Name"] for n in swarm.snapshot().networks}


class Setup:
    """A repository whose first revision holds ``manifests/net.yaml``, synced into ``git/``, a
    controller with ``--prune`` reading ``git/current/<folder>``, and a host folder outside it all."""

    def __init__(self, tmp_path: Path, folder: str = "manifests") -> None:
        self.host = tmp_path / "host"
        (self.host / "manifests").mkdir(parents=True)
        (self.host / "manifests" / "host.yaml").write_text(network("host-net"))
        self.repo = Repo(tmp_path)
        self.repo.write({f"{folder}/net.yaml": network("net")})
        self.repo.commit("first")
        self.sync = GitSync(self.repo.url, root=tmp_path / "git")
        self.sync.sync()
        self.swarm = FakeSwarm()
        config = ControllerConfig(
            self.sync.current_path / folder,
            instance="confined",
            checkout=self.sync.current_path,
            options=PlanOptions(prune=True),
            resync_s=3600,
            dependency_timeout_s=1,
            watch=False,
            events=False,
        )
        self.controller = Controller(config, self.swarm)
        self.controller.pass_once()
        assert "net" in network_names(self.swarm)
        assert self.controller.status()["last_error"] is None

    def next_revision(self) -> None:
        self.repo.commit("second")
        self.sync.sync()
        self.controller.pass_once()

    def assert_refused(self) -> None:
        names = network_names(self.swarm)
        assert "net" in names, "the previous revision's objects were pruned"
        assert "host-net" not in names, "a host folder was applied"
        error = self.controller.status()["last_error"]
        assert error is not None and error["stage"] == "load"
        assert "leaves the Git checkout" in error["message"], error


def test_a_manifest_folder_replaced_by_an_absolute_link_out_of_the_checkout_is_refused(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    setup.repo.remove("manifests")
    setup.repo.symlink("manifests", str(setup.host / "manifests"))
    setup.next_revision()
    setup.assert_refused()


def test_a_relative_link_that_climbs_out_of_the_checkout_is_refused(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    setup.repo.remove("manifests")
    setup.repo.symlink("manifests", "../../host/manifests")  # from git/rev-…/ up to tmp_path
    setup.next_revision()
    setup.assert_refused()


def test_a_folder_that_passes_through_a_link_out_of_the_checkout_is_refused(tmp_path: Path) -> None:
    setup = Setup(tmp_path, folder="deploy/manifests")
    setup.repo.remove("deploy")
    setup.repo.symlink("deploy", str(setup.host))
    setup.next_revision()
    setup.assert_refused()


def test_a_link_that_leaves_and_comes_back_is_refused(tmp_path: Path) -> None:
    """The path ends inside the revision, but only by way of the swapped `current` link outside it."""
    setup = Setup(tmp_path, folder="deploy/manifests")
    setup.repo.remove("deploy")
    setup.repo.write({"real/manifests/net.yaml": network("net")})
    setup.repo.symlink("deploy", str(setup.sync.current_path / "real"))
    setup.next_revision()
    setup.assert_refused()


def test_links_that_stay_inside_the_checkout_are_followed(tmp_path: Path) -> None:
    setup = Setup(tmp_path)
    setup.repo.remove("manifests")
    setup.repo.write({"real/net.yaml": network("net"), "real/more.yaml": network("more")})
    setup.repo.symlink("manifests", "real")
    setup.next_revision()
    assert {"net", "more"} <= network_names(setup.swarm)
    assert setup.controller.status()["last_error"] is None


def test_a_plain_folder_may_itself_be_a_symlink_but_links_below_it_stay_refused(tmp_path: Path) -> None:
    real = tmp_path / "elsewhere" / "manifests"
    real.mkdir(parents=True)
    (real / "net.yaml").write_text(network("net"))
    link = tmp_path / "manifests"
    link.symlink_to(real)
    loaded = ManifestSource(link, "plain").load()
    assert isinstance(loaded, Loaded) and loaded.manifest_count == 1
    (tmp_path / "outside.yaml").write_text(network("outside"))
    (real / "out.yaml").symlink_to(tmp_path / "outside.yaml")
    refused = ManifestSource(link, "plain").load()
    assert isinstance(refused, Refused)
    assert any("symlink points outside the manifest root" in p for p in refused.problems)
    with pytest.raises(ManifestError):
        load_manifests(link)


def test_resolve_inside_walks_each_link(tmp_path: Path) -> None:
    base = tmp_path / "rev"
    (base / "a" / "b").mkdir(parents=True)
    (base / "up").symlink_to("a/b/../..")  # back to base itself: inside
    (base / "abs").symlink_to(base / "a")
    (base / "out").symlink_to(tmp_path)
    (base / "loop").symlink_to("loop")
    assert resolve_inside(base, Path("up/a/b")) == base / "a" / "b"
    assert resolve_inside(base, Path("abs/b")) == base / "a" / "b"
    assert resolve_inside(base, Path("missing/x")) == base / "missing" / "x"
    for bad in ("out", "out/rev/a", "..", "a/../../rev", "loop"):
        with pytest.raises(OutsideBase):
            resolve_inside(base, Path(bad))


def test_a_manifest_path_outside_the_repository_cannot_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def connect(*args: object, **kwargs: object) -> FakeSwarm:
        raise AssertionError("no engine may be reached")

    for manifests in (Path("/etc"), Path("deploy/../../etc")):
        settings = RunSettings(manifests=manifests, git_url="file:///nowhere.git", git_dir=tmp_path / "git")
        assert Manager(settings, connect=connect, handle_signals=False).run() == EXIT_CANNOT_START  # type: ignore[arg-type]
        assert "must be a folder inside the repository" in capsys.readouterr().err


def test_before_the_first_checkout_the_controller_waits_without_an_error(tmp_path: Path) -> None:
    """Before: "invalid manifests: ... git-sync/current:1:1: no such file or folder" at error level on
    every start with --git-url, until the first clone was there (found writing docs/migration.md)."""
    repo = Repo(tmp_path)
    repo.write({"manifests/net.yaml": network("net")})
    repo.commit("first")
    sync = GitSync(repo.url, root=tmp_path / "git")
    swarm = FakeSwarm()
    config = ControllerConfig(
        sync.current_path / "manifests",
        instance="first-clone",
        checkout=sync.current_path,
        resync_s=3600,
        dependency_timeout_s=1,
        watch=False,
        events=False,
    )
    controller = Controller(config, swarm)
    controller.pass_once()  # no checkout yet
    status = controller.status()
    assert status["last_error"] is None and status["revision"] is None
    assert "net" not in network_names(swarm)
    sync.sync()
    controller.pass_once()
    assert "net" in network_names(swarm)
    assert controller.status()["last_error"] is None and controller.status()["revision"] is not None
