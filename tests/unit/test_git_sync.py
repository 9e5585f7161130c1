"""GitSync and GitPoller against real git and local bare repositories (no network).

Each test makes an upstream bare repository in tmp_path and pushes commits to it from a work clone;
GitSync fetches from the bare repository by path, as it would from a remote.
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from reconciler.runtime.git_command import GitSyncError, redact_credentials
from reconciler.runtime.git_poller import GitPoller
from reconciler.runtime.git_report import GitReport
from reconciler.runtime.git_sync import GitSync
from reconciler.runtime.journal import EntryKind, Journal
from reconciler.runtime.metrics import Metrics
from reconciler.runtime.notify import NOTIFIED

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git command")

#: Files every commit made by ``Upstream.commit_numbered`` carries, all holding the commit's number.
NUMBERED_FILES = ["MARKER", *[f"stacks/s{i}/services/svc{j}.yaml" for i in range(4) for j in range(6)]]


@pytest.fixture(autouse=True)
def _hermetic_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The machine's and the user's git config must not change what these tests see.
    empty = tmp_path / "empty-gitconfig"
    empty.write_text("")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(empty))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for var, value in {
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.invalid",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.invalid",
    }.items():
        monkeypatch.setenv(var, value)


def git(*args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


class Upstream:
    """A bare repository (``url``) and a work clone that commits and pushes to it."""

    def __init__(self, base: Path, branch: str = "main") -> None:
        self.bare = base / "upstream.git"
        self.work = base / "work"
        self.branch = branch
        git("init", "--quiet", "--bare", "-b", branch, str(self.bare))
        git("init", "--quiet", "-b", branch, str(self.work))
        git("remote", "add", "origin", str(self.bare), cwd=self.work)

    @property
    def url(self) -> str:
        return str(self.bare)

    def commit(self, files: dict[str, str], remove: tuple[str, ...] = (), message: str = "change") -> str:
        for rel, text in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
        for rel in remove:
            (self.work / rel).unlink()
        git("add", "--all", cwd=self.work)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.work)
        git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def commit_numbered(self, n: int) -> str:
        return self.commit({rel: f"{n}\n" for rel in NUMBERED_FILES}, message=f"revision {n}")

    def reset_to(self, sha: str) -> None:
        git("reset", "--quiet", "--hard", sha, cwd=self.work)
        git("push", "--quiet", "--force", "origin", f"HEAD:refs/heads/{self.branch}", cwd=self.work)


@pytest.fixture
def upstream(tmp_path: Path) -> Upstream:
    return Upstream(tmp_path)


def revision_dirs(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if p.name.startswith("rev-")}


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.startswith(".tmp-")]


# --- GitSync -----------------------------------------------------------------------------------


def test_first_sync_creates_current_and_a_complete_revision_folder(tmp_path: Path, upstream: Upstream) -> None:
    sha = upstream.commit(
        {
            "README.md": "hello\n",
            "stacks/web/services/app.yaml": "kind: Service\n",
            "stacks/web/networks/deep/er/net.yaml": "kind: Network\n",
        }
    )
    root = tmp_path / "checkout"
    sync = GitSync(upstream.url, "main", root=root)
    assert sync.current_revision is None

    assert sync.sync() == sha
    assert sync.current_revision == sha

    current = root / "current"
    assert current.is_symlink()
    # Relative, so the folder can be mounted elsewhere and still resolve.
    assert os.readlink(current) == f"rev-{sha[:12]}"
    assert sync.current_path.resolve() == (root / f"rev-{sha[:12]}").resolve()
    assert (current / "README.md").read_text() == "hello\n"
    assert (current / "stacks/web/services/app.yaml").read_text() == "kind: Service\n"
    assert (current / "stacks/web/networks/deep/er/net.yaml").read_text() == "kind: Network\n"
    assert not (current / ".git").exists()
    assert (root / "cache.git" / "HEAD").is_file()
    assert revision_dirs(root) == {f"rev-{sha[:12]}"}
    assert leftovers(root) == []
    # The URL is handed to git on each fetch, not stored in the cache.
    assert upstream.url not in (root / "cache.git" / "config").read_text()


def test_sync_follows_an_annotated_tag(tmp_path: Path, upstream: Upstream) -> None:
    sha = upstream.commit({"a.yaml": "1\n"})
    git("tag", "-a", "v1", "-m", "release", cwd=upstream.work)
    git("push", "--quiet", "origin", "v1", cwd=upstream.work)
    upstream.commit({"a.yaml": "2\n"})

    sync = GitSync(upstream.url, "v1", root=tmp_path / "checkout")

    assert sync.sync() == sha  # the commit, not the tag object
    assert (sync.current_path / "a.yaml").read_text() == "1\n"


def test_a_new_commit_swaps_current_and_the_old_revision_stays(tmp_path: Path, upstream: Upstream) -> None:
    first = upstream.commit({"a.yaml": "one\n", "gone.yaml": "x\n"})
    root = tmp_path / "checkout"
    sync = GitSync(upstream.url, root=root, keep=3)
    sync.sync()
    old_target = sync.current_path.resolve()

    second = upstream.commit({"a.yaml": "two\n", "new/b.yaml": "b\n"}, remove=("gone.yaml",))
    assert sync.sync() == second

    assert os.readlink(root / "current") == f"rev-{second[:12]}"
    assert (root / "current/a.yaml").read_text() == "two\n"
    assert (root / "current/new/b.yaml").read_text() == "b\n"
    assert not (root / "current/gone.yaml").exists()
    # A reader that resolved the old target before the swap can still finish reading it.
    assert (old_target / "a.yaml").read_text() == "one\n"
    assert revision_dirs(root) == {f"rev-{first[:12]}", f"rev-{second[:12]}"}


def test_keep_prunes_the_oldest_revisions_and_never_the_current_one(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "checkout"
    sync = GitSync(upstream.url, root=root, keep=2)
    shas = []
    for n in range(4):
        shas.append(upstream.commit({"n.yaml": f"{n}\n"}))
        sync.sync()
    assert revision_dirs(root) == {f"rev-{shas[2][:12]}", f"rev-{shas[3][:12]}"}

    # Roll back to a kept revision: its folder is reused and it becomes the newest again.
    upstream.reset_to(shas[2])
    assert sync.sync() == shas[2]
    assert os.readlink(root / "current") == f"rev-{shas[2][:12]}"
    assert revision_dirs(root) == {f"rev-{shas[2][:12]}", f"rev-{shas[3][:12]}"}

    newest = upstream.commit({"n.yaml": "4\n"})
    sync.sync()
    # shas[3] was current before shas[2] came back, so it is the oldest now.
    assert revision_dirs(root) == {f"rev-{shas[2][:12]}", f"rev-{newest[:12]}"}

    lonely = GitSync(upstream.url, root=tmp_path / "keep-one", keep=1)
    for n in range(3):
        upstream.commit({"n.yaml": f"again {n}\n"})
        sha = lonely.sync()
        assert revision_dirs(tmp_path / "keep-one") == {f"rev-{sha[:12]}"}
        assert (tmp_path / "keep-one/current/n.yaml").read_text() == f"again {n}\n"


def test_no_change_returns_the_same_sha_and_rewrites_nothing(tmp_path: Path, upstream: Upstream) -> None:
    sha = upstream.commit({"a.yaml": "a\n"})
    root = tmp_path / "checkout"
    sync = GitSync(upstream.url, root=root)
    sync.sync()
    link_before = os.lstat(root / "current")
    rev_before = os.stat(root / f"rev-{sha[:12]}")
    file_before = os.stat(root / f"rev-{sha[:12]}" / "a.yaml")
    entries_before = sorted(p.name for p in root.iterdir())

    assert sync.sync() == sha
    # A new process (a restarted controller) with the same root rewrites nothing either.
    assert GitSync(upstream.url, root=root).sync() == sha

    assert sorted(p.name for p in root.iterdir()) == entries_before
    link_after = os.lstat(root / "current")
    assert (link_after.st_ino, link_after.st_mtime_ns) == (link_before.st_ino, link_before.st_mtime_ns)
    assert os.stat(root / f"rev-{sha[:12]}").st_mtime_ns == rev_before.st_mtime_ns
    assert os.stat(root / f"rev-{sha[:12]}" / "a.yaml").st_ino == file_before.st_ino


def test_a_reader_never_sees_a_partial_revision(tmp_path: Path, upstream: Upstream) -> None:
    root = tmp_path / "checkout"
    # Enough kept that nothing is pruned here: a missing file can only mean a partial revision.
    sync = GitSync(upstream.url, root=root, keep=30)
    first = upstream.commit_numbered(0)
    sync.sync()
    number_of = {f"rev-{first[:12]}": 0}
    commits = 20
    done = threading.Event()
    problems: list[str] = []
    seen: list[tuple[str, int]] = []

    def writer() -> None:
        try:
            for n in range(1, commits + 1):
                sha = upstream.commit_numbered(n)
                assert sync.sync() == sha
                number_of[f"rev-{sha[:12]}"] = n
        except BaseException as exc:  # reported by the main thread
            problems.append(f"writer: {exc!r}")
        finally:
            done.set()

    def reader() -> None:
        while not done.is_set():
            try:
                target = os.readlink(root / "current")  # resolved once per read
                folder = root / target
                marker = int((folder / "MARKER").read_text())
                values = {rel: (folder / rel).read_text() for rel in NUMBERED_FILES}
                files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
            except (OSError, ValueError) as exc:
                problems.append(f"reader: {exc!r}")
                return
            if set(values.values()) != {f"{marker}\n"}:
                problems.append(f"reader: {target} mixes revisions: {set(values.values())}")
            if files != sorted(NUMBERED_FILES):
                problems.append(f"reader: {target} has files {files}")
            seen.append((target, marker))

    threads = [threading.Thread(target=writer), threading.Thread(target=reader), threading.Thread(target=reader)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not any(thread.is_alive() for thread in threads)

    assert problems == []
    assert sync.current_revision is not None
    assert (root / "current/MARKER").read_text() == f"{commits}\n"
    # Each folder holds exactly the commit it is named after.
    assert all(number_of[target] == marker for target, marker in seen)
    assert len({target for target, _ in seen}) > 1, "the readers should have seen several revisions"
    assert len(revision_dirs(root)) == commits + 1
    assert leftovers(root) == []


def test_a_checkout_that_fails_halfway_leaves_no_revision_folder(tmp_path: Path, upstream: Upstream) -> None:
    first = upstream.commit({"a.yaml": "1\n"})
    root = tmp_path / "checkout"
    GitSync(upstream.url, root=root).sync()
    second = upstream.commit({"a.yaml": "2\n", "b.yaml": "2\n"})
    # Writes the files, then fails: a folder that got the rev-* name now would look complete.
    failing = tmp_path / "failing-git"
    failing.write_text(
        "#!/bin/sh\n"
        'for a in "$@"; do [ "$a" = checkout-index ] && { '
        f'"{shutil.which("git")}" "$@"; echo "simulated failure" >&2; exit 1; }}; done\n'
        f'exec "{shutil.which("git")}" "$@"\n'
    )
    failing.chmod(0o755)

    with pytest.raises(GitSyncError, match="simulated failure"):
        GitSync(upstream.url, root=root, git=str(failing)).sync()

    assert revision_dirs(root) == {f"rev-{first[:12]}"}
    assert os.readlink(root / "current") == f"rev-{first[:12]}"
    assert leftovers(root) == []
    # A crash (no clean-up at all) leaves only .tmp-* names, removed by the next sync.
    (root / ".tmp-rev-deadbeef-1234").mkdir()
    (root / ".tmp-rev-deadbeef-1234" / "a.yaml").write_text("half")
    assert GitSync(upstream.url, root=root).sync() == second
    assert leftovers(root) == []
    assert (root / "current/b.yaml").read_text() == "2\n"


def test_an_unknown_ref_raises_and_keeps_current(tmp_path: Path, upstream: Upstream) -> None:
    sha = upstream.commit({"a.yaml": "a\n"})
    root = tmp_path / "checkout"
    GitSync(upstream.url, root=root).sync()

    wrong = GitSync(upstream.url, "no-such-branch", root=root)
    with pytest.raises(GitSyncError) as caught:
        wrong.sync()

    message = str(caught.value)
    assert "no-such-branch" in message
    assert "couldn't find remote ref" in message
    assert "couldn't find remote ref" in caught.value.stderr
    assert caught.value.returncode not in (None, 0)
    assert os.readlink(root / "current") == f"rev-{sha[:12]}"
    assert (root / "current/a.yaml").read_text() == "a\n"
    assert wrong.current_revision is None
    assert leftovers(root) == []


def test_a_bad_url_raises_and_keeps_current(tmp_path: Path, upstream: Upstream) -> None:
    sha = upstream.commit({"a.yaml": "a\n"})
    root = tmp_path / "checkout"
    GitSync(upstream.url, root=root).sync()

    missing = tmp_path / "no-such-repo.git"
    with pytest.raises(GitSyncError) as caught:
        GitSync(str(missing), root=root).sync()

    assert str(missing) in str(caught.value)
    assert "does not appear to be a git repository" in str(caught.value)
    assert os.readlink(root / "current") == f"rev-{sha[:12]}"

    # A URL whose transport is not allowed (ext:: would run a command) is refused by git.
    with pytest.raises(GitSyncError, match="transport 'ext' not allowed"):
        GitSync("ext::sh -c touch% /tmp/pwned", root=root).sync()
    assert os.readlink(root / "current") == f"rev-{sha[:12]}"


def test_credentials_in_the_url_never_appear_in_errors(tmp_path: Path) -> None:
    # Port 1 on the loopback refuses at once; git's own message then names the URL.
    url = "https://alice:s3cr3t-t0ken@127.0.0.1:1/org/repo.git"
    root = tmp_path / "checkout"
    sync = GitSync(url, root=root, timeout=30)

    with pytest.raises(GitSyncError) as caught:
        sync.sync()

    for text in (str(caught.value), caught.value.stderr, repr(caught.value), repr(sync), sync.url):
        assert "s3cr3t" not in text
        assert "alice:" not in text
    assert "127.0.0.1" in str(caught.value)
    for path in root.rglob("*"):
        if path.is_file():
            assert b"s3cr3t" not in path.read_bytes(), path


def test_redact_credentials() -> None:
    url = "https://bob:p%40ss%2Fw0rd@git.example.invalid/r.git"
    text = (
        "fatal: unable to access 'https://bob:p%40ss%2Fw0rd@git.example.invalid/r.git/': denied\n"
        "helper said p@ss/w0rd and bob:p@ss/w0rd; other http://x:y@h/ too"
    )

    clean = redact_credentials(text, url)

    for secret in ("p%40ss%2Fw0rd", "p@ss/w0rd", "x:y@"):
        assert secret not in clean
    assert "https://***@git.example.invalid/r.git/" in clean
    assert redact_credentials("git@github.com:org/repo.git") == "git@github.com:org/repo.git"


def test_git_missing_raises(tmp_path: Path) -> None:
    with pytest.raises(GitSyncError, match="was not found"):
        GitSync("/x.git", root=tmp_path / "c", git=str(tmp_path / "no-git-here")).sync()


def slow_git(tmp_path: Path) -> tuple[Path, Path]:
    """A stand-in for git that signals it started, then hangs in a child process (not exec'd)."""
    started = tmp_path / "slow-git-started"
    script = tmp_path / "slow-git"
    script.write_text(f'#!/bin/sh\ntouch "{started}"\nsleep 30\necho done\n')
    script.chmod(0o755)
    return script, started


def test_a_hanging_git_times_out_and_its_whole_process_group_is_killed(tmp_path: Path) -> None:
    script, _ = slow_git(tmp_path)
    sync = GitSync("/x.git", root=tmp_path / "c", git=str(script), timeout=0.5)

    began = time.monotonic()
    with pytest.raises(GitSyncError, match=r"timed out after 0\.5 s"):
        sync.sync()

    # Had only sh been killed, its sleep would hold the pipes open for 30 s.
    assert time.monotonic() - began < 5


@pytest.mark.parametrize(
    ("url", "ref", "keep"),
    [("--upload-pack=touch /tmp/x", "main", 3), ("/r.git", "-x", 3), ("/r.git", "a:b", 3), ("/r.git", "main", 0)],
)
def test_invalid_arguments_are_refused(tmp_path: Path, url: str, ref: str, keep: int) -> None:
    with pytest.raises(ValueError):
        GitSync(url, ref, root=tmp_path, keep=keep)


# --- GitPoller -----------------------------------------------------------------------------------


def test_poller_picks_up_a_new_commit_on_trigger_well_before_its_interval(tmp_path: Path, upstream: Upstream) -> None:
    first = upstream.commit({"a.yaml": "1\n"})
    revisions: queue.Queue[str] = queue.Queue()
    errors: list[Exception] = []
    poller = GitPoller(GitSync(upstream.url, root=tmp_path / "checkout"), 60, revisions.put, errors.append)
    poller.start()
    try:
        assert revisions.get(timeout=10) == first  # the first sync runs at start
        second = upstream.commit({"a.yaml": "2\n"})

        began = time.monotonic()
        poller.trigger()
        assert revisions.get(timeout=5) == second
        assert time.monotonic() - began < 5
        assert poller.revision == second
        assert (tmp_path / "checkout/current/a.yaml").read_text() == "2\n"

        # A trigger without a new commit syncs but reports no new revision.
        poller.trigger()
        with pytest.raises(queue.Empty):
            revisions.get(timeout=1)
        assert errors == []
    finally:
        began = time.monotonic()
        poller.stop()
        assert time.monotonic() - began < 2
    assert not poller.is_alive()


def test_poller_reports_errors_keeps_the_last_good_revision_and_survives_callbacks(
    tmp_path: Path, upstream: Upstream
) -> None:
    first = upstream.commit({"a.yaml": "1\n"})
    root = tmp_path / "checkout"
    revisions: queue.Queue[str] = queue.Queue()
    errors: queue.Queue[Exception] = queue.Queue()

    def on_revision(sha: str) -> None:
        revisions.put(sha)
        raise RuntimeError("a failing callback must not stop the poller")

    poller = GitPoller(GitSync(upstream.url, root=root), 60, on_revision, errors.put)
    poller.start()
    try:
        assert revisions.get(timeout=10) == first
        moved = tmp_path / "moved.git"
        upstream.bare.rename(moved)
        poller.trigger()
        error = errors.get(timeout=5)
        assert isinstance(error, GitSyncError)
        assert isinstance(poller.last_error, GitSyncError)
        assert os.readlink(root / "current") == f"rev-{first[:12]}"
        assert poller.revision == first

        moved.rename(upstream.bare)
        second = upstream.commit({"a.yaml": "2\n"})
        poller.trigger()
        assert revisions.get(timeout=5) == second
        assert poller.last_error is None
    finally:
        poller.stop()
    assert not poller.is_alive()


def test_poller_stop_cancels_a_running_git_promptly(tmp_path: Path) -> None:
    script, started = slow_git(tmp_path)
    errors: list[Exception] = []
    poller = GitPoller(
        GitSync("/x.git", root=tmp_path / "c", git=str(script), timeout=60), 60, lambda sha: None, errors.append
    )
    poller.start()
    deadline = time.monotonic() + 10
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert started.exists()

    began = time.monotonic()
    poller.stop()
    assert time.monotonic() - began < 2
    assert not poller.is_alive()
    assert errors == []  # a cancel on the way out is not an error


def test_poller_ends_when_a_shared_stop_event_is_set(tmp_path: Path, upstream: Upstream) -> None:
    upstream.commit({"a.yaml": "1\n"})
    stop = threading.Event()
    revisions: queue.Queue[str] = queue.Queue()
    poller = GitPoller(GitSync(upstream.url, root=tmp_path / "c"), 60, revisions.put, stop_event=stop)
    poller.start()
    revisions.get(timeout=10)

    stop.set()  # e.g. the controller shutting down, without calling stop()
    deadline = time.monotonic() + 2
    while poller.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not poller.is_alive()


def test_a_failing_sync_is_a_journal_event_and_a_log_line_once_and_its_recovery_too(
    tmp_path: Path, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    """A newcomer found git errors only under ``git.last_error`` in /status: the same failure is now a
    log line each time, one ``git sync failed`` journal entry (dashboard events, notifications) while
    it lasts, and one ``git sync recovered`` when a sync goes through again."""
    first = upstream.commit({"a.yaml": "1\n"})
    journal, metrics = Journal(), Metrics()
    report = GitReport(journal, metrics)
    revisions: queue.Queue[str] = queue.Queue()
    recovered: queue.Queue[str] = queue.Queue()

    def on_recovered(sha: str) -> None:
        report.recovered(sha)
        recovered.put(sha)

    errors: queue.Queue[Exception] = queue.Queue()

    def on_error(exc: Exception) -> None:
        report.failed(exc)
        errors.put(exc)

    poller = GitPoller(GitSync(upstream.url, root=tmp_path / "checkout"), 60, revisions.put, on_error,
                       on_recovered=on_recovered)  # fmt: skip
    poller.start()
    try:
        assert revisions.get(timeout=10) == first
        moved = tmp_path / "moved.git"
        upstream.bare.rename(moved)
        with caplog.at_level(logging.ERROR, logger="reconciler.runtime.git_sync"):
            for _ in range(3):  # the same failure three times
                poller.trigger()
                errors.get(timeout=5)
        assert len([r for r in caplog.records if "git sync failed" in r.getMessage()]) == 3
        failed = journal.entries()
        assert [e.kind for e in failed] == [EntryKind.GIT_FAILED]
        assert failed[0].severity == "error" and "the last good revision stays" in failed[0].reason
        assert str(poller.last_error) in failed[0].reason

        moved.rename(upstream.bare)
        poller.trigger()
        assert recovered.get(timeout=5) == first
        assert [e.kind for e in journal.entries()] == [EntryKind.GIT_RECOVERED, EntryKind.GIT_FAILED]
        assert journal.entries()[0].revision == first
    finally:
        poller.stop()
    assert EntryKind.GIT_FAILED in NOTIFIED and EntryKind.GIT_RECOVERED in NOTIFIED
