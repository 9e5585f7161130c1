"""``reconciler validate`` on the file system: which paths are read as manifests (folders, hidden files,
symlinks, pipes, a single file), and the files a Config or Secret names (missing, outside the manifest
root, not a regular file).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.validation_helpers import HEAD, REPO, only_problem, problem_lines, run, write

CONFIG = f"{HEAD}kind: Config\nmetadata:\n  name: c\nspec:\n  file: "  # `file:` on line 6, value at col 9


class TestContentFiles:
    def test_missing_file(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", CONFIG + "missing.ini\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:6:3: Config/c: spec.file: cannot read missing.ini: No such file or directory"
        )

    def test_file_relative_to_the_manifest_folder(self, tmp_path: Path) -> None:
        write(tmp_path, "conf/app.ini", "x=1\n")
        write(tmp_path, "conf/a.yaml", CONFIG + "app.ini\n")
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr

    @pytest.mark.parametrize("path", ["../outside.ini", "a/../../outside.ini", "/etc/passwd"])
    def test_path_escaping_the_root_is_refused_by_the_model(self, tmp_path: Path, path: str) -> None:
        f = write(tmp_path, "a.yaml", CONFIG + path + "\n")
        assert only_problem(run(tmp_path)) == (
            f"{f}:6:3: Config/c: spec.file: {path!r} must be a path relative to the manifest's folder, without '..'"
        )

    def test_symlink_escaping_the_root_is_refused_by_the_loader(self, tmp_path: Path) -> None:
        root, outside = tmp_path / "root", tmp_path / "outside.ini"
        outside.write_text("secret\n")
        f = write(root, "a.yaml", CONFIG + "link.ini\n")
        (root / "link.ini").symlink_to(outside)
        assert only_problem(run(root)) == f"{f}:6:3: Config/c: spec.file: file is outside the manifest root"

    def test_folder_is_not_a_file(self, tmp_path: Path) -> None:
        (tmp_path / "sub").mkdir()
        f = write(tmp_path, "a.yaml", CONFIG + "sub\n")
        assert only_problem(run(tmp_path)) == f"{f}:6:3: Config/c: spec.file: cannot read sub: not a regular file"

    def test_secret_with_inline_data_is_refused(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Secret\nmetadata:\n  name: s\nspec:\n  data: hunter2\n")
        lines = problem_lines(run(tmp_path))
        assert f"{f}:6:3: Secret/s: spec.data: unknown field" in lines

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
    def test_file_that_is_a_named_pipe_does_not_hang(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "pipe")
        f = write(tmp_path, "a.yaml", CONFIG + "pipe\n")
        code = (
            "import sys\nfrom reconciler.manifests.errors import ManifestError\n"
            "from reconciler.manifests.loading import load_manifests\n"
            "try:\n    load_manifests(sys.argv[1])\nexcept ManifestError as e:\n    print(e)\n"
        )
        # in a child process with a timeout: a regression hangs that child, not the test run
        done = subprocess.run(
            [sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=30
        )
        assert done.stdout == f"{f}:6:3: Config/c: spec.file: cannot read pipe: not a regular file\n"

    @pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="needs Unix sockets")
    def test_file_that_is_a_socket_is_refused(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", CONFIG + "sock\n")
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(tmp_path / "sock"))
            assert only_problem(run(tmp_path)) == f"{f}:6:3: Config/c: spec.file: cannot read sock: not a regular file"


class TestPaths:
    def test_empty_folder(self, tmp_path: Path) -> None:
        assert only_problem(run(tmp_path)) == f"{tmp_path}:1:1: no manifests (*.yaml, *.yml) found"

    def test_folder_with_only_hidden_and_other_files(self, tmp_path: Path) -> None:
        write(tmp_path, ".hidden.yaml", "not: [valid\n")
        write(tmp_path, ".git/config.yaml", "not: [valid\n")
        write(tmp_path, "notes.txt", "not: [valid\n")
        assert only_problem(run(tmp_path)) == f"{tmp_path}:1:1: no manifests (*.yaml, *.yml) found"

    def test_only_empty_documents(self, tmp_path: Path) -> None:
        write(tmp_path, "a.yaml", "---\n# nothing\n---\n")
        assert only_problem(run(tmp_path)) == f"{tmp_path}:1:1: no manifests (*.yaml, *.yml) found"

    def test_non_existent_path_is_a_usage_error(self, tmp_path: Path) -> None:
        """Exit 2 naming the path, no fake ``nope:1:1`` position (before: exit 1, as if invalid)."""
        missing = tmp_path / "nope"
        result = run(missing)
        assert (result.exit_code, result.stdout) == (2, "")
        assert result.stderr == (
            f"error: no such file or folder: {missing} (PATH is the manifest folder, or one manifest file)\n"
        )

    def test_symlinks_leaving_the_root_are_refused(self, tmp_path: Path) -> None:
        root, outside = tmp_path / "root", tmp_path / "outside"
        write(outside, "x.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: x\n")
        write(root, "ok.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: ok\n")
        (root / "file.yaml").symlink_to(outside / "x.yaml")
        (root / "folder").symlink_to(outside)
        message = "symlink points outside the manifest root: refused"
        assert problem_lines(run(root)) == [
            f"{root}/file.yaml:1:1: {message}",
            f"{root}/folder:1:1: {message}",
        ]

    def test_symlink_loop_inside_the_root_terminates(self, tmp_path: Path) -> None:
        write(tmp_path, "sub/a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n")
        (tmp_path / "sub" / "loop").symlink_to(tmp_path)
        result = run(tmp_path)
        assert result.exit_code == 0, result.stderr

    def test_dangling_symlink(self, tmp_path: Path) -> None:
        (tmp_path / "gone.yaml").symlink_to(tmp_path / "nowhere.yaml")
        assert only_problem(run(tmp_path)) == f"{tmp_path}/gone.yaml:1:1: not a readable file"

    @pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
    def test_manifest_that_is_a_named_pipe_is_not_opened(self, tmp_path: Path) -> None:
        os.mkfifo(tmp_path / "pipe.yaml")
        write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: a\n")
        assert only_problem(run(tmp_path)) == f"{tmp_path}/pipe.yaml:1:1: not a readable file"

    def test_single_file_path(self, tmp_path: Path) -> None:
        f = write(tmp_path, "a.yaml", f"{HEAD}kind: Network\nmetadata:\n  name: web\nspec:\n  bogus: 1\n")
        write(tmp_path, "b.yaml", "not: [valid\n")  # not read: only the named file is
        assert only_problem(run(f)) == f"{f}:6:3: Network/web: spec.bogus: unknown field"
