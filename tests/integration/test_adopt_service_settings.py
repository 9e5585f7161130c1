"""A service made by the real ``docker service create`` or ``docker stack deploy`` with the runtime
and task settings a Service states (ulimits, sysctls, init, stop signal, read-only root, hosts, DNS,
groups, tty, capabilities, logging, pids, a sized tmpfs) is adopted by a manifest stating the same
values with a label-only update: the same task runs on, and ``diff`` is clean afterwards. (The
stack's compose file gives a tmpfs size in bytes: the CLI's own schema refuses ``16M`` there.)"""

from __future__ import annotations

import subprocess
import time

from reconciler.core.labels import MANAGED_BY
from tests.integration.conftest import Workspace
from tests.manifest_folder import API

FLAGS = [
    "--ulimit", "nofile=1024:2048", "--ulimit", "nproc=512",
    "--sysctl", "net.core.somaxconn=1024",
    "--init", "--stop-signal", "SIGUSR1", "--read-only",
    "--host", "db.local:10.0.0.5", "--host", "v6.local:2001:db8::5",
    "--dns", "10.0.0.53", "--dns-search", "svc.local", "--dns-option", "ndots:2",
    "--group", "2000", "--tty",
    "--cap-add", "net_admin", "--cap-drop", "MKNOD",
    "--log-driver", "json-file", "--log-opt", "max-size=1m", "--log-opt", "max-file=2",
    "--limit-pids", "64",
    "--mount", "type=tmpfs,dst=/scratch,tmpfs-size=16777216,tmpfs-mode=1777",
]  # fmt: skip

SPEC = {
    "ulimits": {"nofile": {"soft": 1024, "hard": 2048}, "nproc": 512},
    "sysctls": {"net.core.somaxconn": 1024},
    "init": True,
    "stopSignal": "USR1",
    "readOnly": True,
    "extraHosts": ["db.local:10.0.0.5", "v6.local:2001:db8::5"],
    "dns": {"nameservers": ["10.0.0.53"], "search": ["svc.local"], "options": ["ndots:2"]},
    "groupAdd": ["2000"],
    "tty": True,
    "capAdd": ["NET_ADMIN"],
    "capDrop": ["MKNOD"],
    "logging": {"driver": "json-file", "options": {"max-size": "1m", "max-file": 2}},
    "resources": {"limits": {"pids": 64}},
    "mounts": [{"tmpfs": {"size": "16M", "mode": "1777"}, "target": "/scratch"}],
}


def test_a_cli_made_service_with_every_setting_is_adopted_without_a_restart(ws: Workspace, busybox: str) -> None:
    argv = ["docker", "service", "create", "--detach", "--name", ws.name("tuned"), "--replicas", "1",
            "--stop-grace-period", "1s", "--no-resolve-image", *FLAGS, busybox, "sleep", "3600"]  # fmt: skip
    subprocess.run(argv, env=ws.lab.env(), check=True, capture_output=True, timeout=60)
    before = ws.task_ids("tuned")
    assert before, "the CLI-made task runs"
    spec = {"image": busybox, "args": ["sleep", "3600"], "stopGracePeriod": "1s", **SPEC}
    ws.write(ws.doc("Service", "tuned", spec, annotations={"reconciler.swarm/adopt": "true"}))

    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert ws.service("tuned")["Spec"]["Labels"][MANAGED_BY] == ws.instance
    assert ws.task_ids("tuned") == before  # a label-only update: the task runs on
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 0, diff.stdout


COMPOSE = """\
services:
  tuned:
    image: {image}
    command: ["sleep", "3600"]
    stop_grace_period: 1s
    networks: [net]
    ulimits: {{nproc: 512, nofile: {{soft: 1024, hard: 2048}}}}
    sysctls: {{net.core.somaxconn: 1024}}
    init: true
    stop_signal: SIGUSR1
    read_only: true
    tty: true
    stdin_open: true
    volumes: [{{type: tmpfs, target: /scratch, tmpfs: {{size: 16777216}}}}]
    extra_hosts: ["db.local:10.0.0.5"]
    dns: [10.0.0.53]
    dns_search: [svc.local]
    cap_add: [net_admin]
    cap_drop: [MKNOD]
    logging: {{driver: json-file, options: {{max-size: 1m, max-file: "2"}}}}
    deploy:
      resources: {{limits: {{pids: 64}}}}
networks:
  net: {{external: true, name: {network}}}
"""


def test_a_stack_deployed_service_with_these_settings_is_adopted_without_a_restart(ws: Workspace, busybox: str) -> None:
    network, stack = ws.name("net"), ws.prefix
    env = ws.lab.env()
    subprocess.run(["docker", "network", "create", "--driver", "overlay", network], env=env, check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    compose = ws.folder.parent / "compose.yml"
    compose.write_text(COMPOSE.format(image=busybox, network=network))
    deployed = subprocess.run(["docker", "stack", "deploy", "--detach=true", "--resolve-image", "never", "-c",
                               str(compose), stack], env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert deployed.returncode == 0, deployed.stderr
    name = f"{stack}_tuned"
    tasks = ws.client.api.tasks
    running = {t["ID"] for t in tasks(filters={"service": name}) if t["Status"]["State"] == "running"}
    for _ in range(150):
        running = {t["ID"] for t in tasks(filters={"service": name}) if t["Status"]["State"] == "running"}
        if running:
            break
        time.sleep(0.2)
    assert running, "the stack's task runs"
    spec = {
        "image": busybox, "args": ["sleep", "3600"], "stopGracePeriod": "1s", "networks": [network],
        "ulimits": SPEC["ulimits"], "sysctls": SPEC["sysctls"], "init": True, "stopSignal": "SIGUSR1",
        "readOnly": True, "tty": True, "stdinOpen": True, "mounts": [{"tmpfs": {"size": "16M"}, "target": "/scratch"}],
        "extraHosts": ["db.local:10.0.0.5"], "dns": {"nameservers": ["10.0.0.53"], "search": ["svc.local"]},
        "capAdd": ["NET_ADMIN"], "capDrop": ["MKNOD"],
        "logging": {"driver": "json-file", "options": {"max-size": "1m", "max-file": "2"}},
        "resources": {"limits": {"pids": 64}},
    }  # fmt: skip
    ws.write(
        {"apiVersion": API, "kind": "Network", "metadata": {"name": network}, "spec": {"external": True}},
        {"apiVersion": API, "kind": "Service", "spec": spec,
         "metadata": {"name": "tuned", "namespace": stack, "annotations": {"reconciler.swarm/adopt": "true"}}},
    )  # fmt: skip
    result = ws.cli("apply", "--yes", str(ws.folder))
    assert result.exit_code == 0, result.stdout + result.stderr
    after = {t["ID"] for t in tasks(filters={"service": name}) if t["Status"]["State"] == "running"}
    assert after == running  # a label-only update: the task runs on
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 0, diff.stdout
