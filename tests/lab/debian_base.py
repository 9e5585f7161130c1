"""``lab/debian:bookworm-slim``: a Debian base image made here, since no registry can be reached.

Every image the project ships is ``FROM`` a Debian (``debian:bookworm-slim`` or ``python:3.11-slim``,
which is Debian bookworm too); in the lab the same Dockerfiles are built with
``--build-arg BASE=lab/debian:bookworm-slim`` (see ``tests/lab/deploy_images.py``). This module makes that
base the way the official image is made, minus debuerreotype's reproducibility tricks:

1. ``debootstrap --variant=minbase bookworm <dir> <mirror>``, where the mirror is the one the machine's
   apt uses (``/etc/apt/sources.list.d/*.sources`` or ``sources.list``; deb.debian.org if none is found).
   debootstrap is installed with apt-get when it is missing.
2. The tree is slimmed and configured like ``debian:bookworm-slim``: no apt lists, downloaded packages,
   docs (copyright files stay), man or info pages, locales or logs; dpkg excludes the same paths for
   every later ``apt-get install``, apt keeps no downloaded packages and fetches no translations, and
   ``policy-rc.d`` keeps packages from starting services during a build. The apt sources are the
   machine's mirrors (bookworm, bookworm-updates, bookworm-security), so ``RUN apt-get ...`` in a build
   goes where the machine's apt goes.
3. ``tar -C dir -c . | docker import`` with ``CMD ["/bin/bash"]`` and the usual ``PATH``.

The tarball is cached in ``<cache>/debian/`` (``<cache>``: ``image_build.cache_dir``, the lab's own
``<lab dir>/cache`` unless a test run shares one) (``bookworm-slim-r<N>.tar`` plus a ``.json`` that
records the mirror, the time debootstrap took and the size), so a second lab (or a lab whose data root
was wiped) only runs ``docker import``. An ``flock`` on ``cache/debian/.lock`` keeps two processes from
debootstrapping or importing at once. Bump ``BASE_REVISION`` when the recipe changes: the cached tarball
and the image (label ``lab.debian-base.revision``) are then rebuilt.

Only the standard library is used here.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Final

from tests.lab.host import LabError, _mounts_under
from tests.lab.image_build import cache_dir as image_cache_dir
from tests.lab.image_build import docker_import, file_lock, image_label, load_saved_image, run_checked, save_image

__all__ = [
    "BASE_REVISION",
    "DEBIAN_IMAGE",
    "DEFAULT_MIRROR",
    "base_record",
    "debian_tarball",
    "ensure_debian_base",
    "machine_mirrors",
]

DEBIAN_IMAGE: Final = "lab/debian:bookworm-slim"
SUITE: Final = "bookworm"
#: Bump when the recipe below changes; the cached tarball and the image are rebuilt then.
BASE_REVISION: Final = 1
REVISION_LABEL: Final = "lab.debian-base.revision"
DEFAULT_MIRROR: Final = "http://deb.debian.org/debian"
DEFAULT_SECURITY_MIRROR: Final = "http://deb.debian.org/debian-security"
KEYRING: Final = "/usr/share/keyrings/debian-archive-keyring.gpg"
SBIN_PATH: Final = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
IMAGE_PATH: Final = SBIN_PATH
DEBOOTSTRAP_TIMEOUT: Final = 1800.0

#: Removed from the tree after debootstrap (paths relative to its root; globs allowed).
_SLIM_REMOVE: Final = (
    "var/lib/apt/lists/*",
    "var/cache/apt/*.bin",
    "var/cache/apt/archives/*.deb",
    "var/cache/apt/archives/partial/*",
    "var/cache/debconf/*-old",
    "var/lib/dpkg/*-old",
    "var/log/*",
    "usr/share/man/*",
    "usr/share/info/*",
    "usr/share/groff/*",
    "usr/share/lintian/*",
    "usr/share/linda/*",
    "usr/share/locale/*",
    "tmp/*",
    "var/tmp/*",
    "debootstrap",
)

#: Files written into the tree (relative path, mode, content), as the official slim image has them.
_FILES: Final[tuple[tuple[str, int, str], ...]] = (
    (
        "etc/dpkg/dpkg.cfg.d/docker-slim",
        0o644,
        "# Keep later package installs slim, like debian:*-slim (docs except copyright, man, info, locales).\n"
        "path-exclude /usr/share/doc/*\n"
        "path-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\n"
        "path-exclude /usr/share/groff/*\n"
        "path-exclude /usr/share/info/*\n"
        "path-exclude /usr/share/lintian/*\n"
        "path-exclude /usr/share/linda/*\n"
        "path-exclude /usr/share/locale/*\n",
    ),
    (
        "etc/apt/apt.conf.d/docker-clean",
        0o644,
        "# No downloaded packages are kept in the image.\n"
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb '
        '/var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache "";\n'
        'Dir::Cache::srcpkgcache "";\n'
        'Binary::apt::APT::Keep-Downloaded-Packages "false";\n',
    ),
    ("etc/apt/apt.conf.d/docker-no-languages", 0o644, 'Acquire::Languages "none";\n'),
    ("etc/apt/apt.conf.d/docker-autoremove-suggests", 0o644, 'Apt::AutoRemove::SuggestsImportant "false";\n'),
    (
        "usr/sbin/policy-rc.d",
        0o755,
        "#!/bin/sh\n# No init system in a container: packages must not start services while they install.\nexit 101\n",
    ),
)


# ------------------------------------------------------------------------------------------ the mirror


def _deb822_stanzas(text: str) -> Iterator[dict[str, str]]:
    for chunk in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for line in chunk.splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if line[0] in " \t" and key is not None:
                fields[key] += " " + line.strip()
                continue
            name, sep, value = line.partition(":")
            if sep:
                key = name.strip().lower()
                fields[key] = value.strip()
        if fields:
            yield fields


def machine_mirrors(apt_dir: str | os.PathLike[str] = "/etc/apt") -> tuple[str, str]:
    """``(main mirror, security mirror)`` that the machine's apt uses for bookworm, as URLs.

    Reads deb822 ``sources.list.d/*.sources`` first, then one-line ``sources.list`` and ``*.list``
    files; falls back to deb.debian.org for whichever is not found.
    """
    root = Path(apt_dir)
    main: str | None = None
    security: str | None = None
    entries: list[tuple[str, list[str]]] = []  # (uri, suites)
    for path in sorted((root / "sources.list.d").glob("*.sources")):
        with contextlib.suppress(OSError):
            for stanza in _deb822_stanzas(path.read_text()):
                if "deb" not in stanza.get("types", "").split() or stanza.get("enabled", "yes").lower() == "no":
                    continue
                suites = stanza.get("suites", "").split()
                entries.extend((uri, suites) for uri in stanza.get("uris", "").split())
    for path in [root / "sources.list", *sorted((root / "sources.list.d").glob("*.list"))]:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                words = re.sub(r"\[[^]]*\]", " ", line.split("#", 1)[0]).split()
                if len(words) >= 3 and words[0] == "deb":
                    entries.append((words[1], [words[2]]))
    for uri, suites in entries:
        if not re.match(r"^https?://", uri):
            continue
        if main is None and SUITE in suites:
            main = uri.rstrip("/")
        if security is None and f"{SUITE}-security" in suites:
            security = uri.rstrip("/")
    return main or DEFAULT_MIRROR, security or DEFAULT_SECURITY_MIRROR


def _sources(main: str, security: str) -> str:
    return (
        "Types: deb\n"
        f"URIs: {main}\n"
        f"Suites: {SUITE} {SUITE}-updates\n"
        "Components: main\n"
        f"Signed-By: {KEYRING}\n"
        "\n"
        "Types: deb\n"
        f"URIs: {security}\n"
        f"Suites: {SUITE}-security\n"
        "Components: main\n"
        f"Signed-By: {KEYRING}\n"
    )


# ------------------------------------------------------------------------------------------- helpers


def _remove_tree(root: Path) -> None:
    """Unmount whatever a failed debootstrap left mounted under ``root`` (proc, sys), then delete it."""
    if not root.exists():
        return
    for _ in range(3):
        mounts = _mounts_under(root)
        if not mounts:
            break
        for point in sorted(mounts, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)
    left = _mounts_under(root)
    if left:
        raise LabError(f"cannot delete {root}: still mounted there: {left}")
    shutil.rmtree(root)


# ------------------------------------------------------------------------------------------ building


def _debootstrap() -> str:
    found = shutil.which("debootstrap", path=SBIN_PATH)
    if found:
        return found
    if os.geteuid() != 0:
        raise LabError("debootstrap is missing, and only root can apt-get install it")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", PATH=SBIN_PATH)
    run_checked(["apt-get", "update", "-qq"], timeout=900, env=env)
    run_checked(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "debootstrap"], timeout=900, env=env)
    found = shutil.which("debootstrap", path=SBIN_PATH)
    if found is None:
        raise LabError("apt-get install debootstrap succeeded, yet debootstrap is missing")
    return found


def _slim(root: Path, main: str, security: str) -> None:
    for pattern in _SLIM_REMOVE:
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink()
    # Docs: every file but the copyright notices (the licences stay, as in debian:*-slim).
    doc = root / "usr/share/doc"
    if doc.is_dir():
        for path in sorted(doc.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if path.is_symlink() or path.is_file():
                if path.name != "copyright" or path.parent.parent != doc:
                    path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    for name, mode, content in _FILES:
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
        target.chmod(mode)
    (root / "etc/apt/sources.list").unlink(missing_ok=True)
    (root / "etc/apt/sources.list.d").mkdir(parents=True, exist_ok=True)
    (root / "etc/apt/sources.list.d/debian.sources").write_text(_sources(main, security))
    # What debootstrap copied from this machine, and what every container gets anew from Docker.
    for name in ("etc/resolv.conf", "etc/hostname", "etc/machine-id"):
        path = root / name
        if path.exists() or path.is_symlink():
            path.unlink()
            path.write_text("")
    (root / "etc/hosts").write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")


def _build_tarball(tarball: Path, meta: Path) -> None:
    """debootstrap, slim and tar a bookworm minbase into ``tarball`` (atomically), with its ``meta`` JSON."""
    if os.geteuid() != 0:
        raise LabError("debootstrap needs root")
    debootstrap = _debootstrap()
    main, security = machine_mirrors()
    work = tarball.parent / f"rootfs.{os.getpid()}"
    partial = tarball.with_name(f".{tarball.name}.{os.getpid()}.part")
    _remove_tree(work)
    began = time.monotonic()
    try:
        argv = [debootstrap, "--variant=minbase", f"--keyring={KEYRING}", SUITE, str(work), main]
        if not os.path.exists(KEYRING):
            argv.remove(f"--keyring={KEYRING}")
        env = {
            "PATH": SBIN_PATH,
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "DEBIAN_FRONTEND": "noninteractive",
        }
        run_checked(argv, timeout=DEBOOTSTRAP_TIMEOUT, env=env)
        debootstrapped = time.monotonic() - began
        left = _mounts_under(work)
        if left:
            raise LabError(f"debootstrap left mounts behind: {left}")
        _slim(work, main, security)
        excludes = [f"--exclude=./{d}/*" for d in ("dev", "proc", "sys", "run", "tmp", "var/tmp")]
        run_checked(
            ["tar", "--numeric-owner", "--xattrs", "-C", str(work), "-cf", str(partial), *excludes, "."], timeout=600
        )
        partial.replace(tarball)
    finally:
        partial.unlink(missing_ok=True)
        _remove_tree(work)
    record = {
        "image": DEBIAN_IMAGE,
        "revision": BASE_REVISION,
        "suite": SUITE,
        "variant": "minbase",
        "mirror": main,
        "security_mirror": security,
        "built": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "debootstrap_seconds": round(debootstrapped, 1),
        "total_seconds": round(time.monotonic() - began, 1),
        "tar_bytes": tarball.stat().st_size,
    }
    meta.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def _import(env: Mapping[str, str], tarball: Path, image: str) -> None:
    changes = ['CMD ["/bin/bash"]', f"ENV PATH={IMAGE_PATH}", f"LABEL {REVISION_LABEL}={BASE_REVISION}"]

    def feed(stdin: IO[bytes]) -> None:
        with tarball.open("rb") as handle:
            shutil.copyfileobj(handle, stdin, 1 << 20)

    docker_import(env, image, changes, feed, timeout=600)


def ensure_debian_base(
    env: Mapping[str, str], *, image: str = DEBIAN_IMAGE, cache_dir: str | os.PathLike[str] | None = None
) -> str:
    """Make ``lab/debian:bookworm-slim`` (or ``image``) in the lab whose ``DOCKER_HOST`` is in ``env``,
    unless it is there (with this ``BASE_REVISION``).

    The tarball comes from ``cache_dir`` (default ``<cache>/debian``, see ``image_build.cache_dir``) when it was built before,
    else from debootstrap (about a minute; see the module docstring). Returns the image name.
    """
    wanted = str(BASE_REVISION)
    if image_label(env, image, REVISION_LABEL) == wanted:
        return image
    cache = Path(cache_dir) if cache_dir is not None else image_cache_dir(env) / "debian"
    tarball = cache / f"{SUITE}-slim-r{BASE_REVISION}.tar"
    with file_lock(cache / ".lock"):
        if image_label(env, image, REVISION_LABEL) == wanted:  # made meanwhile by another process
            return image
        # An earlier lab of this run saved it: loaded, it keeps its image ID, so the images built on
        # it find their inputs unchanged and are loaded too rather than built.
        if load_saved_image(env, image, wanted) and image_label(env, image, REVISION_LABEL) == wanted:
            return image
        if not tarball.is_file():
            _build_tarball(tarball, tarball.with_suffix(".json"))
        _import(env, tarball, image)
        if image == DEBIAN_IMAGE:
            save_image(env, image, wanted)
    return image


def debian_tarball(cache_dir: str | os.PathLike[str]) -> Path:
    """The cached bookworm minbase tarball in ``cache_dir`` (made with debootstrap first if it is not there),
    for what needs a clean Debian root file system rather than an image (``scripts/install`` in a chroot)."""
    cache = Path(cache_dir)
    tarball = cache / f"{SUITE}-slim-r{BASE_REVISION}.tar"
    with file_lock(cache / ".lock"):
        if not tarball.is_file():
            _build_tarball(tarball, tarball.with_suffix(".json"))
    return tarball


def base_record(env: Mapping[str, str], *, cache_dir: str | os.PathLike[str] | None = None) -> dict[str, object]:
    """What the cached tarball's ``.json`` says about its build (mirror, seconds, bytes); {} if none."""
    cache = Path(cache_dir) if cache_dir is not None else image_cache_dir(env) / "debian"
    meta = cache / f"{SUITE}-slim-r{BASE_REVISION}.json"
    try:
        data = json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
