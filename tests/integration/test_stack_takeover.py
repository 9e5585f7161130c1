"""A stack deployed by the real ``docker stack deploy`` is taken over by hand-written namespaced
manifests (issue 15): ``apply --adopt`` restarts no task (its config and secret keep their stack
names, the secret on trust, shown in the plan), ``diff`` is clean afterwards, and ``docker stack ls``,
``docker stack ps`` and ``docker stack rm`` keep working on what the reconciler now manages."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from docker import errors as docker_errors

from reconciler.core.labels import MANAGED_BY
from tests.integration.conftest import Workspace

COMPOSE = """\
version: "3.8"
services:
  web:
    image: {image}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    networks: [back]
    configs:
      - source: conf
        target: /conf
    secrets: [pw]
    volumes: ["data:/data"]
    deploy:
      replicas: 2
volumes:
  data: {{}}
networks:
  back:
    driver: overlay
configs:
  conf:
    file: ./conf.txt
secrets:
  pw:
    file: ./pw.txt
"""


def docker(ws: Workspace, *args: str, cwd: Path | None = None) -> str:
    done = subprocess.run(["docker", *args], env=ws.lab.env(), capture_output=True, text=True, timeout=120, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def stack_tasks(ws: Workspace, stack: str, running: int) -> set[str]:
    """IDs of the stack's running tasks, as ``docker stack ps`` lists them, once ``running`` run."""
    deadline = time.monotonic() + 60
    while True:
        argv = ["docker", "stack", "ps", stack, "--filter", "desired-state=running", "--format", "{{json .}}"]
        done = subprocess.run(argv, env=ws.lab.env(), capture_output=True, text=True, timeout=60)
        # Tasks are made in the background: until then stack ps says "nothing found in stack".
        assert done.returncode == 0 or "nothing found" in done.stderr, done.stderr
        tasks = [json.loads(line) for line in done.stdout.splitlines() if line]
        ids = {t["ID"] for t in tasks if t["CurrentState"].startswith("Running")}
        if len(ids) >= running or time.monotonic() > deadline:
            return ids
        time.sleep(0.5)


def remove_volume(ws: Workspace, name: str) -> None:
    """The stack's volume, once its containers are gone (ws's cleanup removes objects, not volumes)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not any(v["Name"] == name for v in ws.client.api.volumes().get("Volumes") or []):
            return
        try:
            ws.client.api.remove_volume(name)
        except docker_errors.APIError:
            time.sleep(0.5)


def manifests(ws: Workspace, stack: str, image: str) -> None:
    def doc(kind: str, name: str, spec: dict[str, object]) -> dict[str, object]:
        return {"apiVersion": "reconciler.swarm/v1alpha1", "kind": kind,
                "metadata": {"name": name, "namespace": stack}, "spec": spec}  # fmt: skip

    ws.write(
        # A network cannot be relabelled (adopting it means replacing it, refused while tasks use it):
        # the stack's own stays external, under its Swarm name.
        doc("Network", f"{stack}_back", {"external": True}),
        doc("Config", "conf", {"file": "conf.txt"}),
        doc("Secret", "pw", {"file": "pw.txt"}),
        doc("Volume", "data", {}),
        doc("Service", "web", {
            "image": image, "args": ["sleep", "3600"], "replicas": 2, "stopGracePeriod": "1s",
            "networks": [f"{stack}_back"], "configs": [{"name": "conf", "target": "/conf"}],
            "secrets": [{"name": "pw"}], "mounts": [{"volume": "data", "target": "/data"}],
        }),
    )  # fmt: skip


def test_a_stack_deployed_by_docker_is_taken_over_without_a_restart(
    ws: Workspace, busybox: str, tmp_path: Path
) -> None:
    stack = ws.prefix
    source = tmp_path / "stack"
    source.mkdir()
    (source / "docker-compose.yml").write_text(COMPOSE.format(image=busybox))
    for folder in (source, ws.folder):
        (folder / "conf.txt").write_text("listen 80\n")
        (folder / "pw.txt").write_text("hunter2\n")
    docker(ws, "stack", "deploy", "--resolve-image", "never", "-c", "docker-compose.yml", stack, cwd=source)
    before = stack_tasks(ws, stack, running=2)
    assert len(before) == 2

    manifests(ws, stack, busybox)
    diff = ws.cli("diff", "--adopt", str(ws.folder))
    assert diff.exit_code == 1, diff.stdout + diff.stderr
    assert f"Secret/{stack}/pw ({stack}_pw)  update: adopted" in diff.stdout
    assert "note: the secret keeps its stack name on trust" in diff.stdout
    assert f"Config/{stack}/conf ({stack}_conf)  update: adopted" in diff.stdout
    # The stack's volume on the node carries the stack label: the namespace's own, mounted as it is.
    assert "Volume/" not in diff.stdout, diff.stdout

    applied = ws.cli("apply", "--adopt", "--yes", str(ws.folder))
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert stack_tasks(ws, stack, running=2) == before  # docker stack ps still lists them: the same tasks
    service = ws.client.api.inspect_service(f"{stack}_web")
    assert service["Spec"]["Labels"][MANAGED_BY] == ws.instance
    assert service["Spec"]["Labels"]["com.docker.stack.namespace"] == stack
    clean = ws.cli("diff", str(ws.folder))
    assert clean.exit_code == 0, clean.stdout

    listed = docker(ws, "stack", "ls", "--format", "{{.Name}} {{.Services}}").splitlines()
    assert f"{stack} 1" in listed
    docker(ws, "stack", "rm", stack)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(s["Spec"]["Name"] == f"{stack}_web" for s in ws.client.api.services()):
        time.sleep(0.2)
    assert not [s for s in ws.client.api.services() if s["Spec"]["Name"].startswith(f"{stack}_")]
    assert not [c for c in ws.client.api.configs() if c["Spec"]["Name"].startswith(f"{stack}_")]
    remove_volume(ws, f"{stack}_data")


def test_a_stack_the_reconciler_made_is_a_stack_to_the_docker_cli(ws: Workspace, busybox: str) -> None:
    stack = ws.prefix
    (ws.folder / "conf.txt").write_text("listen 80\n")
    (ws.folder / "pw.txt").write_text("hunter2\n")
    manifests(ws, stack, busybox)
    text = (ws.folder / "manifests.yaml").read_text()
    # Its own network this time, managed: named and labelled as stack deploy would.
    (ws.folder / "manifests.yaml").write_text(
        text.replace(f"name: {stack}_back", "name: back").replace("external: true", "attachable: false")
        .replace(f"- {stack}_back", "- back")
    )  # fmt: skip
    applied = ws.cli("apply", "--yes", str(ws.folder))
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert len(stack_tasks(ws, stack, running=2)) == 2
    assert f"{stack} 1" in docker(ws, "stack", "ls", "--format", "{{.Name}} {{.Services}}").splitlines()
    services = docker(ws, "stack", "services", stack, "--format", "{{.Name}}").splitlines()
    assert services == [f"{stack}_web"]

    docker(ws, "stack", "rm", stack)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(n["Name"] == f"{stack}_back" for n in ws.client.api.networks()):
        time.sleep(0.2)
    assert not [s for s in ws.client.api.services() if s["Spec"]["Name"].startswith(f"{stack}_")]
    assert not [n for n in ws.client.api.networks() if n["Name"] == f"{stack}_back"]
    assert not [s for s in ws.client.api.secrets() if s["Spec"]["Name"].startswith(f"{stack}_")]
    diff = ws.cli("diff", str(ws.folder))  # gone from the swarm: the reconciler would make it again
    assert diff.exit_code == 1 and f"Service/{stack}/web ({stack}_web)  create" in diff.stdout, diff.stdout
    remove_volume(ws, f"{stack}_data")
