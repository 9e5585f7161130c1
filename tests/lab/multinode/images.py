"""Images on the multi-node lab's nodes: which image ID a node has, and copying an image from another engine
(the single-node lab by default, where ``tests/lab/images.py`` and ``deploy_images.py`` build them) into
the nodes with one ``docker save`` streamed into a ``docker load`` per node. Called by ``MultiNodeLab``
(``lab``): ``load_image`` and ``image_id``.
"""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import tempfile
from collections.abc import Sequence
from typing import IO

from tests.lab.engine import Lab
from tests.lab.host import LabError
from tests.lab.image_build import image_id as source_image_id
from tests.lab.multinode.daemon import request
from tests.lab.multinode.layout import Node
from tests.lab.multinode.namespaces import docker_env, need


def image_id(n: Node, name: str) -> str | None:
    """The ID of image ``name`` on the node, or None if it has none."""
    try:
        status, body = request(n, "GET", f"/images/{name}/json")
    except (OSError, http.client.HTTPException):
        return None
    return str(body["Id"]) if status == 200 and isinstance(body, dict) and body.get("Id") else None


def source_env(source: Lab | str | None) -> dict[str, str]:
    """The docker CLI environment of the engine to copy from: a ``Lab``, a ``DOCKER_HOST`` URL, or (None)
    the single-node lab, which must be running."""
    if isinstance(source, Lab):
        return source.env()
    if source is None:
        lab = Lab()
        if not lab.is_running():
            raise LabError(f"the single-node lab ({lab.root}) is not running; start it or pass source=")
        return lab.env()
    return docker_env(source)


def load_image(name: str, src_env: dict[str, str], nodes: Sequence[Node]) -> str:
    """Copy image ``name`` from the engine of ``src_env`` into each of ``nodes`` that lacks it: one
    ``docker save`` streamed into a ``docker load`` per node, chunk by chunk (never whole in memory).
    Returns the image ID, which is then the same on the source and on every node."""
    wanted = source_image_id(src_env, name)
    if wanted is None:
        raise LabError(f"image {name} not found on {src_env['DOCKER_HOST']}")
    targets = [n for n in nodes if image_id(n, name) != wanted]
    if not targets:
        return wanted
    docker_cli = need("docker")
    with contextlib.ExitStack() as stack:
        save_err = stack.enter_context(tempfile.TemporaryFile())
        save = subprocess.Popen(
            [docker_cli, "image", "save", name], env=src_env, stdout=subprocess.PIPE, stderr=save_err
        )
        loads: list[tuple[Node, subprocess.Popen[bytes], IO[bytes]]] = []
        for n in targets:
            out = stack.enter_context(tempfile.TemporaryFile())
            load = subprocess.Popen(
                [docker_cli, "image", "load", "--quiet"],
                env=docker_env(n.base_url),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            loads.append((n, load, out))
        broken: set[str] = set()
        assert save.stdout is not None
        while chunk := save.stdout.read(1 << 20):
            for n, load, _ in loads:
                if n.name in broken or load.stdin is None:
                    continue
                try:
                    load.stdin.write(chunk)
                except BrokenPipeError:
                    broken.add(n.name)  # its load failed: its output, read below, says why
        save.stdout.close()
        errors: list[str] = []
        for n, load, output in loads:
            with contextlib.suppress(BrokenPipeError):
                if load.stdin is not None:
                    load.stdin.close()
            if load.wait(timeout=300) != 0:
                output.seek(0)
                errors.append(f"docker load on {n.name}: {output.read().decode(errors='replace').strip()}")
        if save.wait(timeout=60) != 0:
            save_err.seek(0)
            errors.insert(0, f"docker save {name}: {save_err.read().decode(errors='replace').strip()}")
        if errors:
            raise LabError("; ".join(errors))
    wrong = [n.name for n in targets if image_id(n, name) != wanted]
    if wrong:
        raise LabError(f"after docker load, {name} on {', '.join(wrong)} is not {wanted}")
    return wanted
