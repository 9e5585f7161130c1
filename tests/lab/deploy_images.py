"""The project's own images, built in the lab from the Dockerfiles users build (no registry needed).

- ``swarm-reconciler/keepalived:0.1`` (the VirtualIP default image): ``deploy/keepalived/Dockerfile``
  on ``lab/debian:bookworm-slim``;
- ``lab/docker-socket-proxy:1`` (the stand-in for tecnativa/docker-socket-proxy):
  ``deploy/socket-proxy/Dockerfile`` on ``lab/debian:bookworm-slim``;
- ``lab/python:3.11-slim`` (the stand-in for python:3.11-slim): ``tests/lab/python-base/Dockerfile`` on
  ``lab/debian:bookworm-slim``;
- ``swarm-reconciler:dev`` (the controller): the root ``Dockerfile`` on ``lab/python:3.11-slim``, from a
  build context assembled here (see below).

Every Dockerfile takes ``ARG BASE`` (the official ``debian:bookworm-slim``/``python:3.11-slim`` by
default); here ``BASE`` is the Debian base debootstrapped by ``tests/lab/debian_base.py``. Builds use the
lab engine's classic builder (``DOCKER_BUILDKIT=0``: the docker CLI here has no buildx plugin, and the
classic builder takes ``FROM`` images from the engine's own store) on the default bridge network, from which ``RUN apt-get`` reaches the machine's Debian mirror
(plain HTTP; the lab dockerd's dead ``HTTP_PROXY`` is the daemon's own and is not passed into build
containers). ``RECONCILER_LAB_BUILD_NETWORK=host`` builds with ``--network host`` instead, for machines
where the bridge cannot reach the mirror.

PyPI is not used from inside a build: HTTPS from a container does not work on every machine that runs
the lab (on the development machines outbound TLS goes through an intercepting proxy whose CA only the
host trusts, so pip in a build container fails with CERTIFICATE_VERIFY_FAILED). The
dependency wheels are made on the host with the host's pip configuration (``pip wheel``, cached in
``<cache>/reconciler/wheels-<hash of the requirements>/``, where ``<cache>`` is ``image_build.cache_dir``) and put into the ``wheels/`` folder of a
build context assembled in ``<lab dir>/cache/reconciler/context/`` (``Dockerfile``, ``pyproject.toml``,
``README.md``, ``reconciler/``, ``wheels/``); the root ``Dockerfile`` then installs from them only.

Each image carries the label ``lab.inputs``, a hash of everything it was built from (Dockerfile, the
context's files, the base image's ID, build arguments): an image whose label matches is not rebuilt, a
changed source file rebuilds it. An ``flock`` per image keeps two processes from building it at once.
With a shared cache (``RECONCILER_LAB_CACHE``, set by ``scripts/test``) a built image is also saved
there under its inputs hash, and a lab that wants the same inputs loads it instead of building.

Only the standard library is used here.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Final

from tests.lab.debian_base import ensure_debian_base
from tests.lab.host import LabError
from tests.lab.image_build import (
    cache_dir,
    docker_cli,
    file_lock,
    image_id,
    image_label,
    inspect_image,
    lab_dir,
    load_saved_image,
    run_checked,
    save_image,
)

__all__ = [
    "KEEPALIVED_IMAGE",
    "PYTHON_IMAGE",
    "RECONCILER_IMAGE",
    "REPO_ROOT",
    "SOCKET_PROXY_IMAGE",
    "build_image",
    "ensure_keepalived_image",
    "ensure_python_base",
    "ensure_reconciler_image",
    "ensure_socket_proxy_image",
    "host_wheels",
    "image_size",
]

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
#: The VirtualIP kind's default image (``reconciler/manifests/kinds/virtual_ip.py``).
KEEPALIVED_IMAGE: Final = "swarm-reconciler/keepalived:0.1"
SOCKET_PROXY_IMAGE: Final = "lab/docker-socket-proxy:1"
PYTHON_IMAGE: Final = "lab/python:3.11-slim"
RECONCILER_IMAGE: Final = "swarm-reconciler:dev"

INPUTS_LABEL: Final = "lab.inputs"
BUILD_NETWORK_ENV: Final = "RECONCILER_LAB_BUILD_NETWORK"
BUILD_TIMEOUT: Final = 1800.0
WHEEL_TIMEOUT: Final = 900.0
#: The build backend of pyproject.toml (and ``wheel``, which setuptools < 70.1 asks for): the offline
#: build stage builds the project with these.
BUILD_REQUIREMENTS: Final = ("setuptools>=68", "wheel")
_SKIP: Final = frozenset({"__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache"})


# ------------------------------------------------------------------------------------------- helpers


def _files(root: Path) -> list[Path]:
    """The files under ``root`` (or ``root`` itself), sorted, without caches and compiled files."""
    if root.is_file():
        return [root]
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP and not d.endswith(".egg-info"))
        found.extend(Path(dirpath) / f for f in filenames if not f.endswith((".pyc", ".pyo")))
    return sorted(found)


def _inputs_hash(
    env: Mapping[str, str], dockerfile: Path, context: Path, build_args: Mapping[str, str], extra: Iterable[str] = ()
) -> str:
    digest = hashlib.sha256()
    digest.update(dockerfile.read_bytes())
    for path in _files(context):
        digest.update(str(path.relative_to(context)).encode() + b"\0")
        digest.update(oct(path.stat().st_mode & 0o777).encode() + b"\0")
        digest.update(path.read_bytes())
    for name, value in sorted(build_args.items()):
        digest.update(f"{name}={value}\0".encode())
        # A rebuilt base (same tag, new ID) rebuilds what stands on it.
        digest.update((image_id(env, value) or "").encode() + b"\0")
    for item in extra:
        digest.update(item.encode() + b"\0")
    return digest.hexdigest()[:16]


def image_size(env: Mapping[str, str], image: str) -> int:
    """The image's size in bytes, as ``docker images`` counts it (all its layers)."""
    size = inspect_image(env, image, "{{.Size}}")
    if size is None:
        raise LabError(f"no image {image} in the lab at {env.get('DOCKER_HOST')}")
    return int(size)


def build_image(
    env: Mapping[str, str],
    image: str,
    dockerfile: Path,
    context: Path,
    build_args: Mapping[str, str],
    *,
    extra_inputs: Iterable[str] = (),
) -> str:
    """``docker build`` (classic builder) of ``image`` in the lab, unless it is there with the same inputs."""
    wanted = _inputs_hash(env, dockerfile, context, build_args, extra_inputs)
    if image_label(env, image, INPUTS_LABEL) == wanted:
        return image
    lock = cache_dir(env) / "images" / f".lock-{re.sub(r'[^A-Za-z0-9_.-]', '_', image)}"
    with file_lock(lock):
        if image_label(env, image, INPUTS_LABEL) == wanted:
            return image
        previous = image_id(env, image)
        if not (load_saved_image(env, image, wanted) and image_label(env, image, INPUTS_LABEL) == wanted):
            argv = [docker_cli(env), "build", "--pull=false", "--rm", "--force-rm", "-t", image, "-f", str(dockerfile)]
            argv += ["--label", f"{INPUTS_LABEL}={wanted}"]
            for name, value in sorted(build_args.items()):
                argv += ["--build-arg", f"{name}={value}"]
            network = os.environ.get(BUILD_NETWORK_ENV) or env.get(BUILD_NETWORK_ENV)
            if network:
                argv += ["--network", network]
            argv.append(str(context))
            run_checked(argv, timeout=BUILD_TIMEOUT, env=dict(env, DOCKER_BUILDKIT="0"))
            save_image(env, image, wanted)
        # The image the tag pointed to before is untagged now: on the lab's vfs driver every such image
        # costs its full size on disk. Removed unless something still uses it (then rmi refuses, fine).
        if previous and previous != image_id(env, image):
            subprocess.run(
                [docker_cli(env), "rmi", previous], env=dict(env), capture_output=True, check=False, timeout=120
            )
    return image


# ------------------------------------------------------------------------------------------ the images


def ensure_python_base(env: Mapping[str, str]) -> str:
    """``lab/python:3.11-slim``: Debian's Python 3.11 with pip and venv, the lab's ``python:3.11-slim``."""
    base = ensure_debian_base(env)
    folder = REPO_ROOT / "tests" / "lab" / "python-base"
    return build_image(env, PYTHON_IMAGE, folder / "Dockerfile", folder, {"BASE": base})


def ensure_keepalived_image(env: Mapping[str, str]) -> str:
    """``swarm-reconciler/keepalived:0.1`` from ``deploy/keepalived/Dockerfile`` on the lab's Debian base."""
    base = ensure_debian_base(env)
    folder = REPO_ROOT / "deploy" / "keepalived"
    return build_image(env, KEEPALIVED_IMAGE, folder / "Dockerfile", folder, {"BASE": base})


def ensure_socket_proxy_image(env: Mapping[str, str]) -> str:
    """``lab/docker-socket-proxy:1`` from ``deploy/socket-proxy/Dockerfile`` on the lab's Debian base."""
    base = ensure_debian_base(env)
    folder = REPO_ROOT / "deploy" / "socket-proxy"
    return build_image(env, SOCKET_PROXY_IMAGE, folder / "Dockerfile", folder, {"BASE": base})


def _requirements(repo: Path) -> list[str]:
    """The project's runtime dependencies (``[project] dependencies``) plus its build backend."""
    with (repo / "pyproject.toml").open("rb") as handle:
        project = tomllib.load(handle).get("project") or {}
    dependencies = project.get("dependencies") or []
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise LabError(f"{repo / 'pyproject.toml'}: [project] dependencies is not a list of strings")
    return [*dependencies, *BUILD_REQUIREMENTS]


def host_wheels(env: Mapping[str, str], repo: Path = REPO_ROOT) -> Path:
    """A folder of wheels for every dependency of ``repo``'s project (transitively) and for its build
    backend, made on this host with its pip configuration (``pip wheel``) and cached per requirement set.
    The project itself is not among them: the image builds its wheel from the context's sources."""
    requirements = _requirements(repo)
    key = hashlib.sha256("\0".join(requirements).encode()).hexdigest()[:12]
    cache = cache_dir(env) / "reconciler"
    wheels = cache / f"wheels-{key}"
    if wheels.is_dir() and any(wheels.glob("*.whl")):
        return wheels
    with file_lock(cache / ".lock-wheels"):
        if wheels.is_dir() and any(wheels.glob("*.whl")):
            return wheels
        partial = cache / f".wheels-{key}.{os.getpid()}.part"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        argv = [
            sys.executable, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-cache-dir",
            "--wheel-dir", str(partial), *requirements,
        ]  # fmt: skip
        try:
            run_checked(argv, timeout=WHEEL_TIMEOUT)
        except LabError:
            shutil.rmtree(partial, ignore_errors=True)
            raise
        shutil.rmtree(wheels, ignore_errors=True)
        partial.replace(wheels)
    return wheels


def _reconciler_context(env: Mapping[str, str], repo: Path) -> Path:
    """``<lab dir>/cache/reconciler/context``: the files the root Dockerfile copies, plus ``wheels/``."""
    wheels = host_wheels(env, repo)
    context = lab_dir(env) / "cache" / "reconciler" / "context"
    shutil.rmtree(context, ignore_errors=True)
    context.mkdir(parents=True)
    for name in ("Dockerfile", "pyproject.toml", "README.md"):
        shutil.copy2(repo / name, context / name)
    for path in _files(repo / "reconciler"):
        target = context / path.relative_to(repo)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    (context / "wheels").mkdir()
    for wheel in sorted(wheels.glob("*.whl")):
        shutil.copy2(wheel, context / "wheels" / wheel.name)
    return context


def ensure_reconciler_image(env: Mapping[str, str], repo: Path = REPO_ROOT) -> str:
    """``swarm-reconciler:dev``: the root ``Dockerfile`` on ``lab/python:3.11-slim``, offline (see above)."""
    base = ensure_python_base(env)
    with file_lock(lab_dir(env) / "cache" / "reconciler" / ".lock-context"):
        context = _reconciler_context(env, repo)
        return build_image(env, RECONCILER_IMAGE, context / "Dockerfile", context, {"BASE": base})
