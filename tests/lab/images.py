"""Images the tests run, built locally in the lab (no registry can be reached).

``lab/busybox:1``: a ``FROM scratch`` image holding Debian's static busybox with its applets linked
in ``/bin`` (``sh``, ``sleep``, ``httpd``, ``nc``, ``wget``…): enough for services whose tasks really
run, for HTTP backends and for health checks. Built once per lab (the data root keeps it), with
``docker import`` (``tests/lab/image_build.py``) of a tarball made here.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile
from pathlib import Path

from tests.lab.host import LabError
from tests.lab.image_build import docker_import, inspect_image

__all__ = ["BUSYBOX_IMAGE", "STANDIN_IMAGE", "ensure_busybox_image", "ensure_standin_image"]

BUSYBOX_IMAGE = "lab/busybox:1"
STANDIN_IMAGE = "lab/standin:1"

# The demo runs examples/ in the lab with this image in place of Traefik, WordPress, MariaDB and the
# socket proxy (none can be pulled here): it serves HTTP on :80 and passes the examples' health checks.
_STANDIN_FILES = {
    "bin/standin": b"""#!/bin/sh
# Stands in for an example's image in the lab: serve a page on :80, whatever the arguments.
mkdir -p /www
echo "stand-in for ${STANDIN_FOR:-an example image}" > /www/index.html
cp /www/index.html /www/wp-login.php
echo OK > /www/ping
exec httpd -f -p 80 -h /www
""",
    "bin/traefik": b"#!/bin/sh\n# `traefik healthcheck --ping`, stood in for: is the page served?\nexec wget -q -O /dev/null http://127.0.0.1/ping\n",
    "bin/curl": b'#!/bin/sh\n# `curl -fsS URL`, stood in for by wget: the last argument is the URL.\nfor arg; do url=$arg; done\nexec wget -q -O /dev/null "$url"\n',
}


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


def _rootfs_tar(busybox: Path, extra: dict[str, bytes] | None = None) -> bytes:
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
        files = {"etc/passwd": b"root:x:0:0:root:/:/bin/sh\n", "etc/group": b"root:x:0:\n", **(extra or {})}
        for name, content in files.items():
            if name in tar.getnames():  # an extra file replaces an applet's link
                continue
            file = tarfile.TarInfo(name)
            file.size, file.mode = len(content), 0o755 if name.startswith("bin/") else 0o644
            tar.addfile(file, io.BytesIO(content))
    return buffer.getvalue()


def ensure_busybox_image(env: dict[str, str]) -> str:
    """Build ``lab/busybox:1`` in the lab whose ``DOCKER_HOST`` is in ``env``, unless it is there."""
    return _ensure(env, BUSYBOX_IMAGE, ['CMD ["/bin/sh"]'], None)


def ensure_standin_image(env: dict[str, str]) -> str:
    """Build ``lab/standin:1`` (busybox plus the stand-in scripts) unless it is there."""
    return _ensure(env, STANDIN_IMAGE, ['ENTRYPOINT ["/bin/standin"]', "CMD []"], _STANDIN_FILES)


def _ensure(env: dict[str, str], image: str, changes: list[str], extra: dict[str, bytes] | None) -> str:
    if inspect_image(env, image, "{{.Id}}") is not None:
        return image
    tar = _rootfs_tar(_busybox_binary(), extra)
    docker_import(env, image, [*changes, "ENV PATH=/bin"], lambda stdin: stdin.write(tar), timeout=120)
    return image
