"""Which Docker Engine the lab runs: Engine 28 (what people run today, the default) or 20.10 (Debian
bookworm's own ``docker.io``, the oldest supported), chosen by ``RECONCILER_LAB_ENGINE``.

Engine 20.10 is the distribution's package (installed with apt by ``Lab.ensure_installed``).
Engine 28 is Debian's ``docker.io`` 28.5 from the suite ``sid``: its ``.deb`` and sid's
``containerd`` are fetched with ``apt-get download`` through a sources list and apt state of their
own (the machine's apt configuration is not touched), unpacked with ``dpkg-deb -x`` under
``/var/tmp/srlab-engines/<version>/``, and started with that folder's ``usr/sbin`` and ``usr/bin``
first on the PATH, so dockerd finds the matching ``docker-proxy``, ``containerd`` and
``containerd-shim-runc-v2``; ``runc`` stays bookworm's (sid's needs a newer glibc). Only the
standard library is used. Called by the single- and the multi-node lab.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.lab.host import SBIN_PATH, LabError, _which

__all__ = ["DEFAULT_ENGINE", "ENGINES", "ENGINE_ENV", "EngineInstall", "engine_install", "requested_engine"]

ENGINE_ENV = "RECONCILER_LAB_ENGINE"
DEFAULT_ENGINE = "28"
ENGINES = ("28", "20.10")
ENGINES_DIR = Path(os.environ.get("RECONCILER_LAB_ENGINES_DIR", "/var/tmp/srlab-engines"))
#: Debian's archive, as the machine's own sources name it; the keyring that signs it.
DEBIAN_MIRROR = "http://deb.debian.org/debian"
DEBIAN_KEYRING = "/usr/share/keyrings/debian-archive-keyring.gpg"
SID_PACKAGES = ("docker.io", "containerd")


@dataclass(frozen=True)
class EngineInstall:
    """``version``: "28" or "20.10"; ``dockerd``: its path; ``path``: the PATH to start it with."""

    version: str
    dockerd: str
    path: str


def requested_engine() -> str:
    """The engine asked for by ``RECONCILER_LAB_ENGINE`` (default 28)."""
    version = os.environ.get(ENGINE_ENV, DEFAULT_ENGINE).strip() or DEFAULT_ENGINE
    if version not in ENGINES:
        raise LabError(f"{ENGINE_ENV}={version!r}: the lab runs Engine {' or '.join(ENGINES)}")
    return version


def engine_install(version: str) -> EngineInstall:
    """Where the engine's binaries are, installing Engine 28 on first use (about 50 MB of downloads)."""
    if version == "20.10":
        dockerd = _which("dockerd")
        if dockerd is None:
            raise LabError("dockerd (Debian bookworm's docker.io) is not installed")
        return EngineInstall(version, dockerd, SBIN_PATH)
    if version != "28":
        raise LabError(f"unknown lab engine {version!r}")
    root = ENGINES_DIR / "28"
    with _locked(ENGINES_DIR / ".lock"):
        if not (root / "usr/sbin/dockerd").exists():
            _install_sid(root)
    path = os.pathsep.join([str(root / "usr/sbin"), str(root / "usr/bin"), SBIN_PATH])
    return EngineInstall(version, str(root / "usr/sbin/dockerd"), path)


def _install_sid(root: Path) -> None:
    apt = ENGINES_DIR / "apt"
    debs = ENGINES_DIR / "debs"
    for folder in (apt / "lists/partial", apt / "cache/archives/partial", debs):
        folder.mkdir(parents=True, exist_ok=True)
    sources = apt / "sid.list"
    sources.write_text(f"deb [signed-by={DEBIAN_KEYRING}] {DEBIAN_MIRROR} sid main\n")
    options = [
        "-o", f"Dir::Etc::SourceList={sources}", "-o", "Dir::Etc::SourceParts=/nonexistent",
        "-o", f"Dir::State::Lists={apt / 'lists'}", "-o", f"Dir::Cache={apt / 'cache'}",
        "-o", "Debug::NoLocking=1", "-o", "APT::Sandbox::User=root",
    ]  # fmt: skip
    _run(["apt-get", *options, "update"], cwd=debs)
    for old in debs.glob("*.deb"):
        old.unlink()
    _run(["apt-get", *options, "download", *SID_PACKAGES], cwd=debs)
    staging = root.with_name(root.name + ".partial")
    _run(["rm", "-rf", str(staging)])
    staging.mkdir(parents=True)
    for deb in sorted(debs.glob("*.deb")):
        _run(["dpkg-deb", "-x", str(deb), str(staging)])
    for binary in (
        "usr/sbin/dockerd",
        "usr/sbin/docker-proxy",
        "usr/bin/containerd",
        "usr/bin/containerd-shim-runc-v2",
    ):
        if not (staging / binary).exists():
            raise LabError(f"sid's {' and '.join(SID_PACKAGES)} did not provide {binary}")
    _run(["rm", "-rf", str(root)])
    staging.rename(root)  # whole or not at all: a half-unpacked engine is never used


def _run(argv: list[str], cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL,
                              env=dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH=SBIN_PATH))  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise LabError(f"`{shlex.join(argv)}` could not run: {exc}") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise LabError(f"`{shlex.join(argv)}` failed (exit {done.returncode}):\n{tail}")


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One installer at a time (test sessions and helpers may start labs together)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
