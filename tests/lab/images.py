"""Images the tests run, built locally in the lab (no registry can be reached).

``lab/busybox:1``: a ``FROM scratch`` image holding Debian's static busybox with its applets linked
in ``/bin`` (``sh``, ``sleep``, ``httpd``, ``nc``, ``wget``…): enough for services whose tasks really
run, for HTTP backends and for health checks. Built once per lab (the data root keeps it), with
``docker import`` of a tarball made here.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.lab.host import LabError

__all__ = ["BUSYBOX_IMAGE", "ensure_busybox_image"]

BUSYBOX_IMAGE = "lab/busybox:1"


def _busybox_binary() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(candidate) and _is_static(candidate):
            return Path(candidate)
    subprocess.run(["apt-get", "update", "-qq"], check=False, capture_output=True, timeout=300)
    install = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "busybox-static"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        check=False,
    )
    if install.returncode != 0 or not os.path.exists("/bin/busybox"):
        raise LabError(f"cannot install busybox-static: {install.stderr.strip()}")
    return Path("/bin/busybox")


def _is_static(path: str) -> bool:
    with open(path, "rb") as handle:
        data = handle.read(1 << 20)
    return b"ld-linux" not in data  # a dynamic binary names its loader in the first pages


def _rootfs_tar(busybox: Path) -> bytes:
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for folder in ("bin", "tmp", "etc", "www", "proc", "sys", "dev"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o1777 if folder == "tmp" else 0o755
            tar.addfile(info)
        tar.add(str(busybox), arcname="bin/busybox")
        for applet in applets:
            if applet == "busybox":
                continue
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type, link.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(link)
        for name, content in (("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n"), ("etc/group", b"root:x:0:\n")):
            file = tarfile.TarInfo(name)
            file.size = len(content)
            tar.addfile(file, io.BytesIO(content))
    return buffer.getvalue()


def ensure_busybox_image(env: dict[str, str]) -> str:
    """Build ``lab/busybox:1`` in the lab whose ``DOCKER_HOST`` is in ``env``, unless it is there."""
    docker = shutil.which("docker", path=env.get("PATH")) or "docker"
    present = subprocess.run([docker, "image", "inspect", BUSYBOX_IMAGE], env=env, capture_output=True, check=False)
    if present.returncode == 0:
        return BUSYBOX_IMAGE
    built = subprocess.run(
        [docker, "import", "--change", 'CMD ["/bin/sh"]', "--change", "ENV PATH=/bin", "-", BUSYBOX_IMAGE],
        input=_rootfs_tar(_busybox_binary()),
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if built.returncode != 0:
        raise LabError(f"docker import of {BUSYBOX_IMAGE} failed: {built.stderr.decode(errors='replace').strip()}")
    return BUSYBOX_IMAGE
