"""``reconciler import swarm`` on services the real docker CLI made (``docker service create`` with
most of its flags), then ``apply --adopt`` and ``diff`` as a person runs them: no task is replaced,
only the reconciler's labels change, and the diff is clean afterwards."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import yaml

from reconciler.core.labels import MANAGED_BY
from tests.integration.conftest import Workspace
from tests.manifest_folder import running_task_ids


def docker(ws: Workspace, *args: str) -> str:
    done = subprocess.run(["docker", *args], env=ws.lab.env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_a_service_made_by_docker_service_create_is_imported_and_adopted_without_a_restart(
    ws: Workspace, busybox: str, tmp_path: Path
) -> None:
    net, conf, secret, web = ws.name("net"), ws.name("conf"), ws.name("pw"), ws.name("web")
    docker(ws, "network", "create", "--driver", "overlay", "--attachable", net)
    (tmp_path / "app.conf").write_text("a=1\n")
    docker(ws, "config", "create", conf, str(tmp_path / "app.conf"))
    docker(ws, "secret", "create", secret, str(tmp_path / "app.conf"))
    docker(ws, "service", "create", "--detach", "--name", web, "--replicas", "2",
           "--env", "A=1", "--env", "B=two words", "--label", "owner=ops", "--container-label", "tier=front",
           "--network", f"name={net},alias=web-alias",
           "--mount", f"type=volume,source={ws.name('data')},target=/data",
           "--mount", "type=bind,source=/tmp,target=/host-tmp,readonly", "--mount", "type=tmpfs,target=/scratch",
           "--config", f"source={conf},target=/etc/app.conf,mode=0440", "--secret", secret,
           "--publish", "mode=host,target=80",
           "--limit-cpu", "0.5", "--limit-memory", "64M", "--reserve-memory", "16M",
           "--restart-condition", "on-failure", "--restart-max-attempts", "3",
           "--update-parallelism", "2", "--update-order", "start-first", "--update-failure-action", "rollback",
           "--rollback-parallelism", "2", "--constraint", "node.role==manager",
           "--placement-pref", "spread=node.labels.zone", "--replicas-max-per-node", "2",
           "--health-cmd", "true", "--health-interval", "5s", "--health-retries", "3",
           "--user", "65534", "--workdir", "/tmp", "--hostname", "{{.Service.Name}}-{{.Task.Slot}}",
           "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--stop-grace-period", "2s",
           busybox, "sleep", "3600")  # fmt: skip
    before = ws.task_ids("web", running=2)
    assert len(before) == 2

    out = tmp_path / "imported"
    imported = ws.cli("import", "swarm", "--service", web, "--out", str(out))
    assert imported.exit_code == 0, imported.stderr
    assert "changes only the reconciler's labels" in imported.stderr, imported.stderr
    [service] = yaml.safe_load_all((out / f"service-{web}.yaml").read_text())
    assert service["spec"]["env"] == {"A": "1", "B": "two words"}
    assert service["spec"]["resources"] == {
        "limits": {"cpus": 0.5, "memory": "64Mi"},
        "reservations": {"memory": "16Mi"},
    }
    assert {p.name for p in out.iterdir()} >= {f"network-{net}.yaml", f"config-{conf}.yaml", f"secret-{secret}.yaml",
                                                f"volume-{ws.name('data')}.yaml"}  # fmt: skip

    applied = ws.cli("apply", str(out), "--adopt", "--yes")
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert ws.service("web")["Spec"]["Labels"][MANAGED_BY] == ws.instance
    assert ws.task_ids("web", running=2) == before  # no task replaced
    diff = ws.cli("diff", str(out))
    assert diff.exit_code == 0, diff.stdout + diff.stderr


def test_what_cannot_be_kept_is_named_on_stderr(ws: Workspace, busybox: str, tmp_path: Path) -> None:
    odd = ws.name("odd")
    docker(ws, "service", "create", "--detach", "--name", odd, "--replicas", "0", "--ulimit", "nofile=1024:2048",
           "--log-driver", "json-file", "--log-opt", "max-size=1m",
           "--mount", "type=bind,source=/tmp,target=/h,bind-propagation=rslave",
           "--label", "traefik.http.routers.odd.rule=Host(`odd.example.org`)",
           "--label", "traefik.http.services.odd.loadbalancer.server.port=80",
           busybox, "sleep", "3600")  # fmt: skip
    imported = ws.cli("import", "swarm", "--service", odd)
    assert imported.exit_code == 0, imported.stderr
    assert "kind: Service" in imported.stdout and "kind: Route" in imported.stdout
    assert "logging:" in imported.stdout and "max-size: 1m" in imported.stdout  # mapped, not reported
    assert "Mounts[/h].BindOptions.Propagation" in imported.stderr, imported.stderr
    assert "would change or drop them" in imported.stderr
    as_json = json.loads(ws.cli("-o", "json", "import", "swarm", "--service", odd).stdout)
    assert [d["kind"] for d in as_json["documents"]] == ["Service", "Route"]
    assert any("BindOptions.Propagation" in f["field"] for f in as_json["findings"])
    missing = ws.cli("import", "swarm", "--service", ws.name("nope"))
    assert missing.exit_code == 2 and f"no service named {ws.name('nope')}" in missing.stderr


STACK = """
version: "3.8"
services:
  web:
    image: {image}
    command: ["sleep", "3600"]
    environment: {{A: "1"}}
    networks: [front]
    volumes: [data:/data, mem:/mem]
    configs: [{{source: conf, target: /etc/app.conf}}]
    secrets: [pw]
    stop_grace_period: 1s
    deploy:
      replicas: 2
      labels: {{owner: ops}}
networks:
  front: {{driver: overlay}}
volumes:
  data: {{}}
  mem: {{driver_opts: {{type: tmpfs, device: tmpfs}}}}  # options without a driver name, as stack deploy sends them
configs:
  conf: {{file: ./app.conf}}
secrets:
  pw: {{file: ./pw.txt}}
"""


def test_a_stack_deployed_by_docker_stack_deploy_is_imported_with_its_namespace_and_adopted(
    ws: Workspace, busybox: str, tmp_path: Path
) -> None:
    stack = ws.prefix
    (tmp_path / "app.conf").write_text("a=1\n")
    (tmp_path / "pw.txt").write_text("s3cret\n")
    (tmp_path / "stack.yml").write_text(STACK.format(image=busybox))
    docker(ws, "stack", "deploy", "--resolve-image", "never", "-c", str(tmp_path / "stack.yml"), stack)
    try:
        before = running_task_ids(ws.client, f"{stack}_web", 2, timeout=60, interval=0.3)
        assert len(before) == 2
        out = tmp_path / "imported"
        imported = ws.cli("import", "swarm", "--stack", stack, "--out", str(out))
        assert imported.exit_code == 0, imported.stderr
        assert "changes only the reconciler's labels" in imported.stderr, imported.stderr
        [service] = yaml.safe_load_all((out / stack / "service-web.yaml").read_text())
        assert service["metadata"] == {"name": "web", "namespace": stack}
        # the stack's config comes with its content (taken over under its name); the secret stays external
        [config] = yaml.safe_load_all((out / stack / "config-conf.yaml").read_text())
        assert config["spec"] == {"data": "a=1\n"}
        [secret] = yaml.safe_load_all((out / f"secret-{stack}_pw.yaml").read_text())
        assert secret["spec"] == {"external": True}
        applied = ws.cli("apply", str(out), "--adopt", "--yes")
        assert applied.exit_code == 0, applied.stdout + applied.stderr
        assert running_task_ids(ws.client, f"{stack}_web", 2, timeout=60, interval=0.3) == before  # no task replaced
        assert stack in docker(ws, "stack", "ls")  # docker stack still knows it
        diff = ws.cli("diff", str(out))
        assert diff.exit_code == 0, diff.stdout + diff.stderr
    finally:
        docker(ws, "stack", "rm", stack)
        time.sleep(1)  # the volumes stay in use until the tasks have stopped
        for volume in (f"{stack}_data", f"{stack}_mem"):
            subprocess.run(["docker", "volume", "rm", "-f", volume], env=ws.lab.env(), capture_output=True, timeout=60)
