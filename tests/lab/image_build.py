"""The plumbing every lab image build shares: which docker CLI and lab folder an environment points at,
what the engine knows about an image, running a build step with a readable failure, a per-image lock,
and ``docker import`` of a streamed root filesystem.

An environment (``env``) is what ``Lab.env()`` returns: ``DOCKER_HOST=unix://<lab dir>/docker.sock``
plus ``PATH``. Caches (wheels, tarballs, saved images) live in ``cache_dir(env)``: ``<lab dir>/cache``, gone
with the lab, or the folder named by ``RECONCILER_LAB_CACHE``, which outlives a lab: ``scripts/test`` sets
it for one run, so the second engine's pass loads what the first built (``docker save``/``docker load``:
the same image IDs, so what stands on a base finds its inputs unchanged) instead of building it again.
Callers: ``tests/lab/images.py`` (busybox and stand-in images), ``tests/lab/traefik.py``
(``lab/traefik:3``), ``tests/lab/debian_base.py`` (the debootstrapped base) and
``tests/lab/deploy_images.py`` (``docker build`` of the project's Dockerfiles). Failures raise
``LabError`` (or the ``error`` class a caller passes) with the command and the tail of its output.

Only the standard library is used here.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Final

from tests.lab.engine import DEFAULT_LAB_DIR, LAB_DIR_ENV
from tests.lab.host import LabError

__all__ = [
    "CACHE_ENV",
    "LOCK_TIMEOUT",
    "cache_dir",
    "docker_cli",
    "docker_import",
    "file_lock",
    "image_id",
    "image_label",
    "inspect_image",
    "lab_dir",
    "load_saved_image",
    "run_checked",
    "save_image",
    "tail",
]

#: A cache folder shared by the labs of one test run (``scripts/test``); unset: each lab's own.
CACHE_ENV: Final = "RECONCILER_LAB_CACHE"
#: How long a build waits for another process's build of the same thing (a debootstrap takes minutes).
LOCK_TIMEOUT: Final = 2400.0


def docker_cli(env: Mapping[str, str]) -> str:
    return shutil.which("docker", path=env.get("PATH")) or "docker"


def lab_dir(env: Mapping[str, str]) -> Path:
    """The lab folder behind ``env``'s ``DOCKER_HOST`` (``unix://<lab dir>/docker.sock``), else the default;
    caches (wheels, tarballs, binaries) and build locks live below it."""
    host = env.get("DOCKER_HOST", "")
    if host.startswith("unix://") and host.endswith("/docker.sock"):
        return Path(host.removeprefix("unix://")).parent
    return Path(env.get(LAB_DIR_ENV) or os.environ.get(LAB_DIR_ENV) or DEFAULT_LAB_DIR)


def cache_dir(env: Mapping[str, str]) -> Path:
    """Where builds keep what they may reuse: ``$RECONCILER_LAB_CACHE`` if set, else ``<lab dir>/cache``."""
    shared = os.environ.get(CACHE_ENV) or env.get(CACHE_ENV)
    return Path(shared) if shared else lab_dir(env) / "cache"


def _archive(env: Mapping[str, str], image: str, key: str) -> Path | None:
    """The ``docker save`` archive of ``image`` built from inputs ``key``; None without a shared cache
    (a lab's own cache goes with the lab: saving there would only cost time)."""
    shared = os.environ.get(CACHE_ENV) or env.get(CACHE_ENV)
    if not shared:
        return None
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in image)
    return Path(shared) / "images" / f"{name}-{key}.tar"


def load_saved_image(env: Mapping[str, str], image: str, key: str) -> bool:
    """``docker load`` the archive another lab of this run saved for ``image`` and ``key``; False if none."""
    archive = _archive(env, image, key)
    if archive is None or not archive.is_file():
        return False
    run_checked([docker_cli(env), "load", "-q", "-i", str(archive)], timeout=600, env=env)
    return True


def save_image(env: Mapping[str, str], image: str, key: str) -> None:
    """``docker save`` ``image`` for the labs that come later in this run (nothing without a shared cache)."""
    archive = _archive(env, image, key)
    if archive is None or archive.is_file():
        return
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f".{archive.name}.{os.getpid()}.part")
    try:
        run_checked([docker_cli(env), "save", "-o", str(partial), image], timeout=600, env=env)
        partial.replace(archive)
    finally:
        partial.unlink(missing_ok=True)


def inspect_image(env: Mapping[str, str], image: str, template: str) -> str | None:
    """``docker image inspect --format TEMPLATE IMAGE`` in the lab, stripped; None if there is no such image."""
    probe = subprocess.run(
        [docker_cli(env), "image", "inspect", "--format", template, image],
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    return probe.stdout.strip() if probe.returncode == 0 else None


def image_label(env: Mapping[str, str], image: str, label: str) -> str | None:
    """The value of ``label`` on ``image`` in the lab ('' when unset), or None if there is no such image."""
    value = inspect_image(env, image, f'{{{{index .Config.Labels "{label}"}}}}')
    return None if value is None else value.replace("<no value>", "")


def image_id(env: Mapping[str, str], image: str) -> str | None:
    return inspect_image(env, image, "{{.Id}}") or None


def tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def run_checked(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    lines: int = 25,
    error: type[LabError] = LabError,
) -> subprocess.CompletedProcess[str]:
    """Run a build step (no stdin, output captured); raise ``error`` naming the command and the last
    ``lines`` of its output (stdout, then stderr) if it cannot run, times out or exits non-zero."""
    try:
        done = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
            env=None if env is None else dict(env),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise error(f"`{shlex.join(argv)}` could not run: {exc}") from exc
    if done.returncode != 0:
        raise error(f"`{shlex.join(argv)}` failed (exit {done.returncode}):\n{tail(done.stdout + done.stderr, lines)}")
    return done


@contextlib.contextmanager
def file_lock(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if needed), waited for up to ``timeout`` seconds: two test
    processes sharing a lab must not build (or download, or debootstrap) the same thing at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LabError(f"{path} stayed locked for {timeout:.0f} s (another build is stuck?)") from None
                time.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def docker_import(
    env: Mapping[str, str],
    image: str,
    changes: Iterable[str],
    write: Callable[[IO[bytes]], object],
    *,
    timeout: float,
    error: type[LabError] = LabError,
) -> None:
    """``docker import`` into ``image`` of the tar stream that ``write`` writes to the CLI's stdin, with
    Dockerfile ``changes`` (``CMD``, ``ENV``, ``LABEL``...). Streamed: a large root filesystem is never held
    in memory; if the import dies while being fed, its stderr says why."""
    argv = [docker_cli(env), "import", *(arg for change in changes for arg in ("--change", change)), "-", image]
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=dict(env)
        )
    except OSError as exc:
        raise error(f"docker import of {image} could not run: {exc}") from exc
    with proc:
        assert proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            write(proc.stdin)
        # communicate() flushes and closes stdin (ignoring a broken pipe), then reads stderr to the end.
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            raise error(f"docker import of {image} could not run: {exc}") from exc
    if proc.returncode != 0:
        raise error(f"docker import of {image} failed: {tail(err.decode(errors='replace'))}")
