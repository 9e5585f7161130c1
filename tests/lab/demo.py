"""``python -m tests.lab demo``: run ``examples/`` on the lab swarm, as the README's run command.

The lab cannot run the examples verbatim, so a copy is adapted, and every adaptation is printed:
no registry can be reached (each image is replaced by ``lab/standin:1``, which serves HTTP on :80
and passes the examples' health checks), the kernel has no NFS client (NFS volumes become plain
``local`` volumes), there is no ``/var/run/docker.sock`` (the socket proxy mounts the lab's socket
instead), a VirtualIP would put a floating address on this machine's real interface (it is
left out), and published ports would open on every interface of this machine, since Swarm cannot bind
a port to one address (they are left out: the services are reached inside the lab, on their overlay
networks). Then: ``reconciler apply --yes``, ``reconciler status`` and ``reconciler diff``.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.lab.engine import Lab
from tests.lab.images import ensure_standin_image

__all__ = ["adapt_examples", "run_demo"]

_DOCKER_SOCKET = "/var/run/docker.sock"


def adapt_examples(source: Path, target: Path, lab_socket: str, standin: str) -> list[str]:
    """Copy ``source`` to ``target`` with the lab's adaptations; return what was changed, in words."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    notes: list[str] = []
    for path in sorted(target.rglob("*.y*ml")):
        documents = [doc for doc in yaml.safe_load_all(path.read_text()) if doc is not None]
        kept = [doc for doc in (_adapt(doc, lab_socket, standin, notes) for doc in documents) if doc is not None]
        path.write_text(yaml.safe_dump_all(kept, sort_keys=False))
    return notes


def _adapt(doc: dict[str, Any], lab_socket: str, standin: str, notes: list[str]) -> dict[str, Any] | None:
    kind, name, spec = doc.get("kind"), doc["metadata"]["name"], doc.get("spec") or {}
    if kind == "VirtualIP":
        notes.append(f"VirtualIP/{name}: left out (it would raise {spec.get('addresses')} on this machine)")
        return None
    if kind == "Volume" and "nfs" in spec:
        doc["spec"] = {"driver": "local", "labels": spec.get("labels", {})}
        notes.append(
            f"Volume/{name}: NFS {spec['nfs']['server']}:{spec['nfs']['path']} → a local volume (no NFS client here)"
        )
    if kind == "Service":
        placement = spec.get("placement") or {}
        if placement.get("maxReplicasPerNode") and spec.get("replicas", 1) > placement["maxReplicasPerNode"]:
            # One node here: the replicas beyond the limit could never run (the service would be Degraded).
            notes.append(f"Service/{name}: maxReplicasPerNode {placement.pop('maxReplicasPerNode')} dropped "
                         f"(the lab has one node, and {spec['replicas']} replicas could not all run)")  # fmt: skip
        notes.append(f"Service/{name}: image {spec['image']} → {standin}")
        spec["env"] = {**spec.get("env", {}), "STANDIN_FOR": spec["image"]}
        spec["image"] = standin
        ports = spec.pop("ports", None)
        if ports:
            opened = ", ".join(str(port.get("published", port.get("target"))) for port in ports)
            notes.append(f"Service/{name}: ports {opened} not published (Swarm would open them on 0.0.0.0 of "
                         "this machine; the demo opens no port outside the lab)")  # fmt: skip
        for mount in spec.get("mounts", []):
            if mount.get("bind") == _DOCKER_SOCKET:
                mount["bind"] = lab_socket
                notes.append(f"Service/{name}: bind {_DOCKER_SOCKET} → the lab's socket {lab_socket}")
    return doc


def run_demo(examples: Path) -> int:
    lab = Lab().up()
    print(f"lab swarm at {lab.base_url}")
    standin = ensure_standin_image(lab.env())
    target = lab.root / "demo-examples"
    socket = lab.base_url.removeprefix("unix://")
    for note in adapt_examples(examples, target, socket, standin):
        print(f"  adapted: {note}")
    base = [sys.executable, "-m", "reconciler", "--docker-host", lab.base_url]
    steps = [["apply", "--yes", "--timeout", "60", str(target)], ["status", str(target)], ["diff", str(target)]]
    for step in steps:
        print(f"$ reconciler {' '.join(step)}", flush=True)
        code = subprocess.run([*base, *step], check=False).returncode
        if code != 0:
            print(f"reconciler {step[0]} exited {code}", file=sys.stderr)
            return code
    print("\nNo port is published on this machine: the services are reachable inside the lab swarm only.")
    print(f"The examples run on the lab swarm. Look around: export DOCKER_HOST={lab.base_url}; docker service ls")
    return 0
