"""The README's two commands install on a fresh Debian 12 with the distribution's own Python (issue 16).

A clean bookworm root file system (the lab's cached debootstrap tarball, ``tests/lab/debian_base.py``)
gets only ``git`` and ``python3`` with apt; then, in a chroot, the install part of ``scripts/demo`` and
of ``scripts/test`` (``RECONCILER_INSTALL_ONLY=1`` stops each after it) must succeed: Debian's Python
refuses ``pip install`` outside a virtual environment (PEP 668), so they make ``.venv``, installing
``python3-venv`` with apt first and saying so. Slow (a few minutes: apt and pip download for real);
it runs with the lab tests and reuses the lab's cached tarball.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.lab import Lab
from tests.lab.debian_base import debian_tarball
from tests.lab.host import _mounts_under
from tests.lab.image_build import cache_dir

pytestmark = pytest.mark.engine_agnostic  # installing on a fresh Debian: the same on every engine

REPO = Path(__file__).resolve().parents[2]
HOST_CA_BUNDLE = os.environ.get("PIP_CERT") or "/etc/ssl/certs/ca-certificates.crt"
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/root",
              "LANG": "C.UTF-8", "DEBIAN_FRONTEND": "noninteractive",
              "PIP_CERT": "/etc/host-ca-certificates.crt"}  # fmt: skip


@pytest.fixture
def rootfs(lab: Lab, tmp_path: Path) -> Iterator[Path]:
    """A fresh bookworm minbase with /proc and /dev mounted, unmounted and deleted afterwards."""
    tarball = debian_tarball(cache_dir(lab.env()) / "debian")
    root = tmp_path / "rootfs"
    root.mkdir()
    subprocess.run(["tar", "--numeric-owner", "-C", str(root), "-xf", str(tarball)], check=True, timeout=300)
    shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")  # apt and pip must resolve names
    # The machine's own trust (this network may present its own CA for HTTPS, which the host's pip is told
    # through PIP_CERT): the chroot's pip trusts what the host trusts, nothing else of the host is used.
    shutil.copyfile(HOST_CA_BUNDLE, root / "etc/host-ca-certificates.crt")
    try:
        subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
        subprocess.run(["mount", "--bind", "/dev", str(root / "dev")], check=True)
        yield root
    finally:
        for point in sorted(_mounts_under(root), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        assert not _mounts_under(root)
        shutil.rmtree(root)


def chroot(root: Path, script: str, log: list[str], timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    began = time.monotonic()
    proc = subprocess.run(["chroot", str(root), "bash", "-c", script], env=CHROOT_ENV, capture_output=True,
                          text=True, timeout=timeout, check=False)  # fmt: skip
    log.append(f"# {script}  -> exit {proc.returncode} in {time.monotonic() - began:.0f} s\n{proc.stdout}{proc.stderr}")
    return proc


def copy_work_tree(target: Path) -> None:
    """The project's tracked files as they are in the work tree (what a clone would hold)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], capture_output=True, check=True).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


def test_install_steps_of_demo_and_test_succeed_on_fresh_debian(rootfs: Path, tmp_path: Path) -> None:
    if shutil.which("chroot") is None or os.geteuid() != 0:
        pytest.skip("needs root and chroot")
    log: list[str] = []
    try:
        added = chroot(rootfs, "apt-get update -qq && apt-get install -y -qq git python3 >/dev/null", log)
        assert added.returncode == 0, log[-1]
        assert chroot(rootfs, "python3 -c 'import ensurepip'", log).returncode != 0  # no venv support yet
        project = rootfs / "src/swarm-reconciler"
        copy_work_tree(project)

        demo = chroot(rootfs, "cd /src/swarm-reconciler && RECONCILER_INSTALL_ONLY=1 scripts/demo", log)
        assert demo.returncode == 0, log[-1]
        assert "== apt-get install python3-venv" in demo.stdout, demo.stdout
        assert "-m venv .venv" in demo.stdout and "pip install -e .[dev]" in demo.stdout
        # scripts/install alone (here through the demo) leaves the test tools too: pytest runs.
        assert chroot(rootfs, "cd /src/swarm-reconciler && .venv/bin/pytest --version", log).returncode == 0, log[-1]

        test = chroot(rootfs, "cd /src/swarm-reconciler && RECONCILER_INSTALL_ONLY=1 scripts/test", log)
        assert test.returncode == 0, log[-1]
        assert "pip install -e .[dev]" in test.stdout and "installed" in test.stdout, test.stdout

        works = chroot(rootfs, "cd /src/swarm-reconciler && .venv/bin/reconciler validate examples/ && "
                               ".venv/bin/python -m pytest --version && .venv/bin/ruff --version", log)  # fmt: skip
        assert works.returncode == 0, log[-1]
        # Nothing went into the distribution's Python.
        assert chroot(rootfs, "cd / && python3 -c 'import reconciler'", log).returncode != 0
    finally:
        transcript = "\n".join(log)
        (tmp_path / "transcript.txt").write_text(transcript)
        with contextlib.suppress(OSError):
            (REPO / ".lab").mkdir(exist_ok=True)
            (REPO / ".lab" / "fresh-debian-install.txt").write_text(transcript)
        print(transcript)
