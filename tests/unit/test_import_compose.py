"""``reconciler import compose``: the corpus in tests/data/compose imports to manifests that validate,
key fields map as docker stack deploy would deploy them, and what cannot be expressed is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from reconciler import API_VERSION
from reconciler.cli.app import cli
from reconciler.importing.compose_import import ComposeImport, import_compose, write_copies
from reconciler.importing.yaml_emit import write_documents
from reconciler.manifests.loading import load_manifests

CORPUS = Path(__file__).resolve().parents[1] / "data" / "compose"
ENTRIES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())


def _files(entry: str) -> list[str]:
    folder = CORPUS / entry
    return [str(folder / name) for name in ("compose.yml", "compose.prod.yml") if (folder / name).is_file()]


def _import(entry: str, tmp_path: Path, stack: str | None = None) -> ComposeImport:
    out = tmp_path / "out"
    result = import_compose(_files(entry), stack, out, environ={})
    write_documents(result.documents, out)
    write_copies(result, out)
    return result


def _doc(result: ComposeImport, kind: str, name: str) -> dict[str, Any]:
    found = [d for d in result.documents if d["kind"] == kind and d["metadata"]["name"] == name]
    assert found, f"no {kind}/{name} in {[(d['kind'], d['metadata']['name']) for d in result.documents]}"
    return found[0]["spec"]  # type: ignore[no-any-return]


def test_corpus_has_at_least_twelve_entries() -> None:
    assert len(ENTRIES) >= 12


@pytest.mark.parametrize("entry", ENTRIES)
def test_each_entry_imports_to_manifests_that_validate(entry: str, tmp_path: Path) -> None:
    result = _import(entry, tmp_path)
    manifests = load_manifests(tmp_path / "out")
    assert len(manifests) == len(result.documents) > 0
    lost = [f.text() for f in result.lost if f.key not in _keys_without_fields()]
    if entry.endswith("not-expressible"):
        assert lost
    else:
        assert lost == [], lost


def _keys_without_fields() -> set[str]:
    """Compose keys of 13-runtime-settings whose Service fields are not (yet) in the kind."""
    from reconciler.manifests.kinds.service import Mount, ServiceSpec

    fields = {info.alias or name for name, info in ServiceSpec.model_fields.items()}
    keys = {"ulimits", "sysctls", "stopSignal", "readOnly", "extraHosts", "logging", "dns", "tty", "stdinOpen"} - fields
    wanted = {
        "stopSignal": "stop_signal",
        "readOnly": "read_only",
        "extraHosts": "extra_hosts",
        "stdinOpen": "stdin_open",
    }
    missing = {wanted.get(key, key) for key in keys}
    if "dns" in keys:
        missing |= {"dns_search", "dns_opt"}
    if Mount.model_fields["tmpfs"].annotation is bool:
        missing.add("volumes.0.tmpfs")
    return missing


@pytest.mark.parametrize("entry", ENTRIES)
def test_corpus_uses_only_images_the_lab_builds(entry: str, tmp_path: Path) -> None:
    result = _import(entry, tmp_path)
    images = {d["spec"]["image"] for d in result.documents if d["kind"] == "Service"}
    assert images <= {"lab/busybox:1", "lab/standin:1", "lab/docker-socket-proxy:1", "lab/traefik:3"}


def test_wordpress_nfs_volumes_secret_and_traefik_v2_labels(tmp_path: Path) -> None:
    result = _import("01-wordpress-nfs-traefik2", tmp_path)
    assert _doc(result, "Volume", "wp-content") == {
        "nfs": {"server": "10.0.0.10", "path": "/srv/nfs/wp-content", "version": "4.1", "options": ["rw", "soft"]}
    }
    # driver_opts without driver: docker stack deploy mounts them with no driver name, and nfs: names local
    assert _doc(result, "Volume", "db-data") == {
        "driverOptions": {"type": "nfs", "o": "addr=nfs.example.org,nfsvers=4", "device": ":/srv/nfs/mysql"}
    }
    assert _doc(result, "Network", "web-servers") == {"external": True}
    wordpress = _doc(result, "Service", "wordpress")
    assert wordpress["replicas"] == 2
    assert wordpress["networks"] == ["web-servers", "backend"]
    assert wordpress["mounts"] == [{"volume": "wp-content", "target": "/var/www/html/wp-content"}]
    assert wordpress["secrets"] == [{"name": "db-password"}]
    assert "labels" not in wordpress  # every deploy label was Traefik's
    assert _doc(result, "Route", "wordpress") == {
        "service": "wordpress",
        "port": 80,
        "hosts": ["blog.example.org", "www.blog.example.org"],
        "entryPoints": ["websecure"],
        "tls": {"certResolver": "letsencrypt"},
        "middlewares": ["secure-headers@file", "wp-redirect"],
        "network": "web-servers",
    }
    assert _doc(result, "Middleware", "wp-redirect") == {
        "type": "redirectScheme",
        "options": {"scheme": "https", "permanent": "true"},
    }
    assert (tmp_path / "out" / "files" / "secrets" / "db-password").read_text() == "not-a-real-password\n"
    assert _doc(result, "Secret", "db-password") == {"file": "files/secrets/db-password"}


def test_traefik_behind_socket_proxy(tmp_path: Path) -> None:
    result = _import("02-traefik-socket-proxy", tmp_path)
    proxy = _doc(result, "Service", "socket-proxy")
    assert proxy["mode"] == "global"
    assert proxy["mounts"] == [{"bind": "/var/run/docker.sock", "target": "/var/run/docker.sock", "readOnly": True}]
    assert proxy["env"] == {"SERVICES": "1", "TASKS": "1", "NETWORKS": "1", "NODES": "1"}
    traefik = _doc(result, "Service", "traefik")
    assert traefik["args"] == ["--configFile=/etc/traefik/traefik.yml"]  # compose command → Swarm Args
    assert traefik["ports"] == [
        {"target": 80, "published": 80, "mode": "host"},
        {"target": 443, "published": 443, "mode": "host"},
    ]
    assert traefik["configs"] == [{"name": "traefik-static", "target": "/etc/traefik/traefik.yml", "mode": "0444"}]
    assert traefik["healthcheck"]["test"] == ["CMD", "traefik", "healthcheck", "--ping"]
    assert _doc(result, "Network", "socket") == {"internal": True}
    route = _doc(result, "Route", "dashboard")
    assert (route["hosts"], route["pathPrefix"], route["port"], route["tls"]) == (
        ["traefik.example.org"],
        "/dashboard",
        8080,
        True,
    )
    # $$ in compose is a literal $: the htpasswd hash arrives whole.
    users = _doc(result, "Middleware", "dashboard-auth")["options"]["users"]
    assert users == ["admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"]
    assert (tmp_path / "out" / "files" / "configs" / "traefik-static").read_text().startswith("entryPoints:")


def test_traefik_v3_labels(tmp_path: Path) -> None:
    result = _import("03-traefik3-labels", tmp_path)
    api = _doc(result, "Route", "api")
    assert api == {
        "service": "api",
        "port": 8080,
        "hosts": ["app.example.org"],
        "pathPrefix": "/api",
        "entryPoints": ["web"],
        "middlewares": ["api-strip", "office-only"],
        "priority": 100,
        "network": "edge",
    }
    assert _doc(result, "Middleware", "api-strip") == {"type": "stripPrefix", "options": {"prefixes": ["/api"]}}
    assert _doc(result, "Middleware", "office-only") == {
        "type": "ipAllowList",
        "options": {"sourceRange": ["10.0.0.0/8", "192.168.0.0/16"]},
    }
    assert _doc(result, "Route", "site")["catchAll"] is True
    assert _doc(result, "Service", "api")["labels"] == {"com.example.team": "backend"}
    assert _doc(result, "Service", "web")["args"] == ["httpd", "-f", "-p", "80", "-h", "/"]  # string split as shlex
    assert _doc(result, "Network", "edge") == {"attachable": True}


def test_files_merge_in_order(tmp_path: Path) -> None:
    app = _doc(_import("04-multi-file-merge", tmp_path), "Service", "app")
    assert app["args"] == ["sleep", "7200"]  # command is replaced whole
    assert app["env"] == {"MODE": "production", "LOG_LEVEL": "debug"}  # mappings merge, later wins
    assert app["replicas"] == 3
    assert app["resources"] == {"limits": {"cpus": "0.5", "memory": "64M"}}
    assert app["ports"] == [{"target": 80, "published": 8080}, {"target": 443, "published": 8443}]  # unique
    assert app["updateConfig"] == {"parallelism": 1, "order": "start-first"}


def test_interpolation_with_dotenv_and_the_environment(tmp_path: Path) -> None:
    files = _files("05-interpolation-dotenv")
    app = _doc(import_compose(files, environ={}), "Service", "app")
    assert app["image"] == "lab/busybox:1"
    assert app["args"] == ["sh", "-c", "echo $HOME && sleep 300"]
    assert app["env"] == {
        "APP_ENV": "staging",
        "GREETING": "hello alice",
        "EMPTY_DEFAULT": "fallback",
        "NESTED": "${INNER:-deep}",  # docker stack deploy's template: a default ends at the first '}'
    }
    assert app["replicas"] == 3
    assert app["labels"] == {"com.example.release": "2024.06"}
    shell = _doc(import_compose(files, environ={"APP_ENV": "prod", "REPLICAS": "5"}), "Service", "app")
    assert (shell["env"]["APP_ENV"], shell["replicas"]) == ("prod", 5)  # the shell wins over .env


def test_configs_and_secrets(tmp_path: Path) -> None:
    result = _import("06-configs-secrets", tmp_path)
    web = _doc(result, "Service", "web")
    assert web["configs"] == [
        {"name": "site-conf", "target": "/etc/site/site.conf", "uid": "100", "gid": "101", "mode": "0440"},
        {"name": "motd", "target": "motd"},  # docker stack deploy: the source, relative
        {"name": "node-info", "target": "/etc/node-info"},
    ]
    assert web["secrets"] == [{"name": "api-key", "mode": "0400"}, {"name": "site_tls_cert", "target": "tls_cert"}]
    assert _doc(result, "Secret", "site_tls_cert") == {"external": True}
    assert _doc(result, "Volume", "site-certs") == {"external": True}
    assert web["mounts"] == [{"volume": "site-certs", "target": "/certs", "readOnly": True}]
    assert _doc(result, "Config", "node-info") == {"file": "files/configs/node-info", "template": "golang"}


def test_global_mode_placement_and_resources(tmp_path: Path) -> None:
    result = _import("07-global-placement", tmp_path)
    agent = _doc(result, "Service", "agent")
    assert agent["mode"] == "global"
    assert agent["placement"] == {"constraints": ["node.platform.os == linux", "node.labels.monitoring != off"]}
    collector = _doc(result, "Service", "collector")
    assert collector["placement"] == {"preferences": [{"spread": "node.labels.zone"}], "maxReplicasPerNode": 1}
    assert collector["resources"] == {
        "limits": {"cpus": "0.5", "memory": "64M"},
        "reservations": {"cpus": "0.1", "memory": "32M"},
    }


def test_healthchecks(tmp_path: Path) -> None:
    result = _import("08-healthchecks", tmp_path)
    assert _doc(result, "Service", "web")["healthcheck"] == {
        "test": ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/"],
        "interval": "5s",
        "timeout": "2s",
        "retries": 5,
        "startPeriod": "10s",
    }
    assert _doc(result, "Service", "shell")["healthcheck"] == {
        "test": ["CMD-SHELL", "test -e /bin/sh"],
        "interval": "30s",
    }
    assert _doc(result, "Service", "quiet")["healthcheck"] == {"test": ["NONE"]}


def test_ports_short_and_long_form(tmp_path: Path) -> None:
    assert _doc(_import("09-ports", tmp_path), "Service", "dns")["ports"] == [
        {"target": 53, "published": 5353, "protocol": "udp"},
        {"target": 80, "published": 8088},
        {"target": 9000},
        {"target": 7001, "published": 7001},
        {"target": 7002, "published": 7002},
        {"target": 9100, "published": 19100, "mode": "host"},
    ]


def test_networks(tmp_path: Path) -> None:
    result = _import("10-networks", tmp_path)
    assert _doc(result, "Network", "backend") == {
        "internal": True,
        "encrypted": True,
        "ipam": {"subnet": "10.231.0.0/24"},
    }
    assert _doc(result, "Network", "frontend") == {"attachable": True, "labels": {"com.example.purpose": "frontend"}}
    assert _doc(result, "Network", "proxy_public") == {"external": True}
    assert _doc(result, "Service", "app")["networks"] == [
        {"name": "frontend", "aliases": ["app-internal", "api"]},
        "backend",
        "proxy_public",
    ]


def test_policies_and_container_settings(tmp_path: Path) -> None:
    job = _doc(_import("11-policies-runtime", tmp_path), "Service", "job")
    assert (job["command"], job["args"]) == (["/bin/sh", "-c"], ["echo started && exec sleep 3600"])
    assert (job["user"], job["workdir"], job["hostname"]) == ("1000:1000", "/tmp", "{{.Service.Name}}-{{.Task.Slot}}")
    assert (job["capAdd"], job["capDrop"], job["stopGracePeriod"]) == (["NET_ADMIN"], ["MKNOD"], "20s")
    assert job["labels"] == {"com.example.service": "job"}
    assert job["containerLabels"] == {"com.example.container": "yes"}  # YAML 1.2: yes is a string
    assert job["endpointMode"] == "dnsrr"
    assert job["dependsOn"] == ["Service/db"]
    assert job["updateConfig"] == {
        "parallelism": 2,
        "delay": "10s",
        "failureAction": "rollback",
        "monitor": "30s",
        "maxFailureRatio": 0.1,
        "order": "stop-first",
    }
    assert job["rollbackConfig"] == {"parallelism": 1, "failureAction": "pause"}
    assert job["restartPolicy"] == {"condition": "on-failure", "delay": "5s", "maxAttempts": 3, "window": "2m"}


def test_what_cannot_be_expressed_is_named_with_file_and_service(tmp_path: Path) -> None:
    result = _import("12-not-expressible", tmp_path)
    lost = {(f.subject, f.key) for f in result.lost}
    assert {
        ("network odd", "driver_opts.com.docker.network.driver.mtu"),
        ("service odd", "ports.0.host_ip"),
        ("service odd", "traefik.http.services.odd.loadbalancer.sticky.cookie"),
        ("service odd", "traefik.tcp.routers.pg.rule"),
        ("service odd", "traefik.http.routers.odd.rule"),
        ("service batch", "networks"),  # on the stack's default network: stated with --stack only
    } <= lost
    # a replicated job is stated (deploy.mode), as docker stack deploy sends it
    assert ("service batch", "deploy.mode") not in lost
    assert _doc(result, "Service", "batch")["mode"] == "replicated-job"
    # an anonymous volume and a dotted alias are stated (anonymous: true; aliases are DNS names)
    assert not {("service odd", "volumes.0"), ("Service odd", "spec.networks.0.aliases.0")} & lost
    ignored = {f.key for f in result.findings if f.severity == "ignored"}
    assert {"build", "container_name", "devices", "version", "tmpfs"} <= ignored
    # docker-cli convertRestartPolicy: without deploy.restart_policy, `restart: always` is Swarm's `any`.
    assert _doc(result, "Service", "odd")["restartPolicy"] == {"condition": "any"}
    where = {f.key: f.where for f in result.findings}
    compose = str(CORPUS / "12-not-expressible" / "compose.yml")
    assert where["ports.0.host_ip"] == f"{compose}:15:9"
    odd = _doc(result, "Service", "odd")
    assert odd["mounts"] == [{"anonymous": True, "target": "/data"}, {"tmpfs": True, "target": "/cache"}]
    assert odd["networks"] == [{"name": "odd", "aliases": ["odd.internal"]}]


def test_cli_exit_codes_and_streams(tmp_path: Path) -> None:
    runner = CliRunner()
    ok = runner.invoke(cli, ["import", "compose", *_files("03-traefik3-labels")], env={})
    assert ok.exit_code == 0, ok.output
    assert "kind: Route" in ok.stdout
    lost = runner.invoke(cli, ["import", "compose", *_files("12-not-expressible"), "--out", str(tmp_path / "o")])
    assert lost.exit_code == 1
    assert "ports.0.host_ip: Swarm publishes on every address of the node" in lost.stderr
    assert (tmp_path / "o" / "service-odd.yaml").is_file()
    (tmp_path / "o" / "service-gone.yaml").write_text("kind: Service\n")
    again = runner.invoke(cli, ["import", "compose", *_files("12-not-expressible"), "--out", str(tmp_path / "o")])
    assert f"{tmp_path / 'o' / 'service-gone.yaml'} was not written by this import" in again.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("services:\n  web:\n    image: [1, 2\n")
    error = runner.invoke(cli, ["import", "compose", str(bad)])
    assert error.exit_code == 2
    assert f"{bad}:" in error.stderr
    stack = runner.invoke(cli, ["import", "compose", *_files("03-traefik3-labels"), "--stack", "My Stack"])
    assert stack.exit_code == 2
    assert "--stack 'My Stack' is not a stack name" in stack.stderr
    as_json = runner.invoke(cli, ["-o", "json", "import", "compose", str(bad)])
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["exit_code"] == 2
    found = runner.invoke(cli, ["import", "compose", *_files("12-not-expressible"), "-o", "json"])
    document = json.loads(found.stdout)
    assert found.exit_code == 1
    assert {"where", "subject", "key", "reason", "severity"} <= set(document["findings"][0])
    assert {m["kind"] for m in document["manifests"]} == {"Network", "Volume", "Service"}


def test_secret_target_stays_the_compose_name_when_the_manifest_name_differs(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    (tmp_path / "pw").write_text("x")
    compose.write_text(
        "services:\n  web:\n    image: lab/busybox:1\n    networks: [n]\n    secrets: [db_password]\n"
        "    configs: [app_conf]\nnetworks:\n  n: {}\n"
        "secrets:\n  db_password:\n    file: pw\nconfigs:\n  app_conf:\n    file: pw\n"
    )
    web = _doc(import_compose([str(compose)], out=tmp_path / "out", environ={}), "Service", "web")
    # docker stack deploy's default targets are the compose names, as written (docker-cli
    # convertFileObject): db_password (under /run/secrets) and app_conf (relative, not /app_conf).
    assert web["secrets"] == [{"name": "db-password", "target": "db_password"}]
    assert web["configs"] == [{"name": "app-conf", "target": "app_conf"}]


def test_name_collisions_and_stack_names_that_change(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n  web_app:\n    image: lab/busybox:1\n    networks: [n]\n"
        "  web-app:\n    image: lab/busybox:1\n    networks: [n]\nnetworks:\n  n: {}\n"
    )
    result = import_compose([str(compose)], environ={})
    assert [d["metadata"]["name"] for d in result.documents if d["kind"] == "Service"] == ["web-app"]
    assert [(f.subject, f.key, f.where) for f in result.lost] == [("service web-app", "name", f"{compose}:5:3")]
    assert "also that of service 'web_app'" in result.lost[0].reason
    stacked = import_compose(_files("12-not-expressible"), "odd", environ={})
    renamed = [f for f in stacked.lost if f.key == "name"]
    assert [f.subject for f in renamed] == ["volume cache_data"]
    assert "docker stack deploy names it odd_cache_data" in renamed[0].reason


def test_stack_namespace(tmp_path: Path) -> None:
    result = _import("01-wordpress-nfs-traefik2", tmp_path, stack="wp")
    service = next(d for d in result.documents if d["kind"] == "Service")
    external = next(d for d in result.documents if d["kind"] == "Network" and d["spec"].get("external"))
    assert "namespace" not in external["metadata"]  # an external object keeps its own Swarm name
    assert service["metadata"]["namespace"] == "wp"
    assert not result.lost
    manifests = load_manifests(tmp_path / "out")
    assert {r.swarm_name for r in manifests if r.KIND in ("Service", "Network", "Volume")} == {
        "wp_wordpress", "wp_db", "wp_backend", "web-servers", "wp_wp-content", "wp_db-data",
    }  # fmt: skip


def test_with_a_stack_its_networks_are_external_under_their_swarm_names(tmp_path: Path) -> None:
    """As import swarm writes them (a network cannot be relabelled, so adopting a managed one would
    replace it): a note, not a loss; without --stack they stay managed Networks."""
    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n  web:\n    image: lab/busybox:1\n    networks: {front: {aliases: [w]}, named: {}}\n"
        "    deploy:\n      labels:\n        traefik.http.routers.web.rule: Host(`a.example.org`)\n"
        "        traefik.docker.network: front\n"
        "        traefik.http.services.web.loadbalancer.server.port: '80'\n"
        "networks:\n  front: {attachable: true}\n  named: {name: custom-net}\n  unused: {}\n"
    )
    result = import_compose([str(compose)], "st", environ={})
    assert {d["metadata"]["name"]: d for d in result.documents if d["kind"] == "Network"} == {
        "st_front": {"apiVersion": API_VERSION, "kind": "Network", "metadata": {"name": "st_front"},
                     "spec": {"external": True}},
        "custom-net": {"apiVersion": API_VERSION, "kind": "Network", "metadata": {"name": "custom-net"},
                       "spec": {"external": True}},
    }  # fmt: skip
    assert _doc(result, "Service", "web")["networks"] == [{"name": "st_front", "aliases": ["w"]}, "custom-net"]
    assert _doc(result, "Route", "web")["network"] == "st_front"
    assert not result.lost
    notes = {f.subject: f for f in result.findings if f.severity == "note"}
    assert set(notes) == {"network front", "network named", "network unused"}
    assert notes["network front"].where == f"{compose}:11:3"
    assert "under its Swarm name st_front" in notes["network front"].reason
    assert "adopting it as a managed Network would replace it" in notes["network front"].reason
    assert notes["network front"].text().endswith("(note)")
    assert "does not create it" in notes["network unused"].reason
    plain = import_compose([str(compose)], environ={})
    assert _doc(plain, "Network", "front") == {"attachable": True}
    assert not [f for f in plain.findings if f.severity == "note"]
    code = CliRunner().invoke(cli, ["import", "compose", str(compose), "--stack", "st"])
    assert code.exit_code == 0 and "under its Swarm name st_front" in code.stderr


def test_a_service_without_networks_is_on_the_stack_default_network(tmp_path: Path) -> None:
    """docker-cli convert.convertServiceNetworks attaches a service without networks to `default`,
    which stack deploy creates as <stack>_default: with --stack it is written as the stack's other
    networks are (external, under its Swarm name, with a note); without, the service's networks are
    lost (no network of that name can be made outside a stack). A replicated job's replicas are its
    maxConcurrent and totalCompletions (docker-cli convertDeployMode)."""
    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n  batch:\n    image: lab/busybox:1\n    deploy: {mode: replicated-job, replicas: 3}\n"
        "  once:\n    image: lab/busybox:1\n    deploy: {mode: global-job}\n"
        "  web:\n    image: lab/busybox:1\n    networks: [front]\nnetworks:\n  front: {}\n"
    )
    result = import_compose([str(compose)], "st", environ={})
    networks = {d["metadata"]["name"]: d["spec"] for d in result.documents if d["kind"] == "Network"}
    assert networks == {"st_default": {"external": True}, "st_front": {"external": True}}
    batch, once = _doc(result, "Service", "batch"), _doc(result, "Service", "once")
    assert batch["networks"] == ["st_default"] and once["networks"] == ["st_default"]
    assert _doc(result, "Service", "web")["networks"] == ["st_front"]
    assert (batch["mode"], batch["maxConcurrent"], batch["totalCompletions"]) == ("replicated-job", 3, 3)
    assert "replicas" not in batch and once["mode"] == "global-job"
    assert not result.lost
    notes = {f.subject: f for f in result.findings if f.severity == "note"}
    assert notes["network default"].where == f"{compose}:2:3"  # the first service on it
    plain = import_compose([str(compose)], environ={})
    assert {(f.subject, f.key) for f in plain.lost} == {("service batch", "networks"), ("service once", "networks")}
    assert "--stack" in plain.lost[0].reason


def test_runtime_settings_map_to_the_fields_the_kind_has(tmp_path: Path) -> None:
    """Each key becomes its Service field where the kind has it, and is reported by name where not."""
    from reconciler.manifests.kinds.service import Mount, ServiceSpec

    result = _import("13-runtime-settings", tmp_path)
    tuned = _doc(result, "Service", "tuned")
    fields = {info.alias or name for name, info in ServiceSpec.model_fields.items()}
    lost = {f.key for f in result.lost}
    expected = {
        "ulimits": ("ulimits", {"nproc": 512, "nofile": {"soft": 1024, "hard": 2048}}),
        "sysctls": ("sysctls", {"net.core.somaxconn": "1024", "net.ipv4.tcp_syncookies": "0"}),
        "stop_signal": ("stopSignal", "SIGUSR1"),
        "read_only": ("readOnly", True),
        "extra_hosts": ("extraHosts", ["db.local:10.0.0.5", "cache.local:10.0.0.6"]),
        "logging": ("logging", {"driver": "json-file", "options": {"max-size": "10m", "max-file": 3}}),
        "tty": ("tty", True),
        "stdin_open": ("stdinOpen", True),
    }
    for key, (field, value) in expected.items():
        if field in fields:
            assert tuned[field] == value, key
        else:
            assert key in lost, key
    if "dns" in fields:
        assert tuned["dns"] == {"nameservers": ["10.0.0.2"], "search": ["example.internal"]}
    else:
        assert {"dns", "dns_search"} <= lost
    if Mount.model_fields["tmpfs"].annotation is bool:
        assert tuned["mounts"] == [{"tmpfs": True, "target": "/tmp"}]
        assert "volumes.0.tmpfs" in lost
    else:
        assert tuned["mounts"] == [{"tmpfs": {"size": 16777216}, "target": "/tmp"}]


def test_init_and_generic_resources(tmp_path: Path) -> None:
    from reconciler.importing.compose_runtime import GENERIC_RESOURCES
    from reconciler.manifests.kinds.service import ServiceSpec

    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n  gpu:\n    image: lab/busybox:1\n    init: true\n    networks: [n]\n    deploy:\n"
        "      resources:\n        reservations:\n          generic_resources:\n"
        "            - discrete_resource_spec: {kind: gpu, value: 2}\nnetworks:\n  n: {}\n"
    )
    result = import_compose([str(compose)], environ={})
    gpu = _doc(result, "Service", "gpu")
    lost = {f.key for f in result.lost}
    if "init" in ServiceSpec.model_fields:
        assert gpu["init"] is True
    else:
        assert "init" in lost
    if GENERIC_RESOURCES:
        assert gpu["resources"]["reservations"]["genericResources"] == [
            {"discrete_resource_spec": {"kind": "gpu", "value": 2}}
        ]
    else:
        assert "deploy.resources.reservations.generic_resources" in lost


@pytest.mark.parametrize(
    ("restart", "policy"),
    [
        ("on-failure:3", {"condition": "on-failure", "maxAttempts": 3}),
        ("unless-stopped", {"condition": "any"}),
        ("no", None),
    ],
)
def test_legacy_restart_is_used_without_a_deploy_policy(restart: str, policy: object, tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(f"services:\n  a:\n    image: lab/busybox:1\n    restart: '{restart}'\n    networks: [n]\n"
                       "networks:\n  n: {}\n")  # fmt: skip
    result = import_compose([str(compose)], environ={})
    assert _doc(result, "Service", "a").get("restartPolicy") == policy
    assert not result.findings
    compose.write_text(
        "services:\n  a:\n    image: lab/busybox:1\n    restart: always\n    networks: [n]\n"
        "    deploy:\n      restart_policy:\n        condition: none\nnetworks:\n  n: {}\n"
    )
    both = import_compose([str(compose)], environ={})
    assert _doc(both, "Service", "a")["restartPolicy"] == {"condition": "none"}
    assert [(f.key, f.severity) for f in both.findings] == [("restart", "ignored")]


def test_traefik_v2_backend_for_the_lab(tmp_path: Path) -> None:
    result = _import("14-traefik2-backend", tmp_path)
    assert _doc(result, "Route", "whoami") == {
        "service": "whoami",
        "port": 8080,
        "hosts": ["whoami.example.org", "www.whoami.example.org"],
        "entryPoints": ["web"],
        "middlewares": ["whoami-prefix"],
        "network": "web-servers",
    }
    assert _doc(result, "Route", "whoami-app")["pathPrefix"] == "/app"
    assert _doc(result, "Middleware", "whoami-prefix") == {"type": "addPrefix", "options": {"prefix": "/app"}}


def test_the_lab_override_of_the_wordpress_stack_starts_no_task() -> None:
    folder = CORPUS / "01-wordpress-nfs-traefik2"
    result = import_compose([str(folder / "compose.yml"), str(folder / "compose.lab.yml")], "wp", environ={})
    assert {d["metadata"]["name"]: d["spec"]["replicas"] for d in result.documents if d["kind"] == "Service"} == {
        "db": 0,
        "wordpress": 0,
    }
    assert not result.lost


def test_printing_to_stdout_a_file_outside_the_current_folder_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "pw").write_text("x")
    compose = tmp_path / "project" / "compose.yml"
    compose.write_text("services: {}\nsecrets:\n  pw:\n    file: pw\n")
    monkeypatch.chdir(tmp_path / "project")
    inside = import_compose([str(compose)], environ={})
    assert _doc(inside, "Secret", "pw") == {"file": "pw"}
    assert not inside.lost
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    outside = import_compose([str(compose)], environ={})
    assert [(f.subject, f.key) for f in outside.lost] == [("secret pw", "file")]
    assert "use --out to copy it" in outside.lost[0].reason


def test_manifests_that_do_not_validate_together_are_reported(tmp_path: Path) -> None:
    compose = tmp_path / "compose.yml"
    compose.write_text(
        "services:\n  web:\n    image: lab/busybox:1\n    networks: [n]\n    deploy:\n      labels:\n"
        "        traefik.http.routers.web.rule: Host(`a.example.org`)\n"
        "        traefik.http.routers.web.middlewares: missing@docker\n"
        "        traefik.http.services.web.loadbalancer.server.port: '80'\nnetworks:\n  n: {}\n"
    )
    result = import_compose([str(compose)], environ={})
    assert [(f.subject, f.key) for f in result.lost] == [("Route/web", "spec.middlewares[0]")]
    assert "do not validate together" in result.lost[0].reason


def test_the_projects_own_stack_file_imports_to_manifests_that_validate(tmp_path: Path) -> None:
    stack = Path(__file__).resolve().parents[2] / "deploy" / "stack.yml"
    result = import_compose([str(stack)], "reconciler", tmp_path, environ={})
    write_documents(result.documents, tmp_path)
    write_copies(result, tmp_path)
    manifests = load_manifests(tmp_path)
    assert {r.swarm_name for r in manifests if r.KIND == "Service"} >= {
        "reconciler_controller",
        "reconciler_socket-proxy",
    }
    # A refused value is left out with what emptied around it: no `preferences: []` stays behind.
    controller = _doc(result, "Service", "controller")
    assert "preferences" not in controller.get("placement", {})


def test_numbers_and_flags_given_as_strings_become_numbers_and_flags(tmp_path: Path) -> None:
    """Interpolated values arrive as strings and compose-go casts them by the compose-spec schema; the
    manifest fields are strict (types.WholeNumber, Number, Flag), so the importer casts as compose does."""
    (tmp_path / "c").mkdir()
    compose = tmp_path / "c" / "compose.yml"
    compose.write_text(
        "services:\n  web:\n    image: nginx:1\n    networks: [front]\n    tty: ${YES}\n    read_only: 'true'\n"
        "    ports: [{target: '${PORT}', published: '8080'}]\n"
        "    healthcheck: {test: [CMD, 'true'], retries: '3'}\n"
        "    ulimits: {nofile: '1024', nproc: {soft: '10', hard: '20'}}\n"
        "    deploy:\n      replicas: ${REPLICAS}\n      placement: {max_replicas_per_node: '2'}\n"
        "      update_config: {parallelism: '2', max_failure_ratio: '${RATIO}'}\n"
        "      rollback_config: {max_failure_ratio: '1'}\n      restart_policy: {max_attempts: '3'}\n"
        "networks:\n  front: {attachable: 'true'}\n"
    )
    out = tmp_path / "out"
    environ = {"YES": "true", "PORT": "80", "REPLICAS": "2", "RATIO": "0.5"}
    result = import_compose([str(compose)], None, out, environ=environ)
    write_documents(result.documents, out)
    assert [f.text() for f in result.lost] == []
    web = _doc(result, "Service", "web")
    assert (web["replicas"], web["tty"], web["readOnly"]) == (2, True, True)
    assert web["ports"] == [{"target": 80, "published": 8080}]
    assert web["healthcheck"]["retries"] == 3 and web["placement"] == {"maxReplicasPerNode": 2}
    assert web["updateConfig"] == {"parallelism": 2, "maxFailureRatio": 0.5}
    assert web["rollbackConfig"] == {"maxFailureRatio": 1.0} and web["restartPolicy"] == {"maxAttempts": 3}
    assert web["ulimits"] == {"nofile": 1024, "nproc": {"soft": 10, "hard": 20}}
    assert _doc(result, "Network", "front")["attachable"] is True
    assert len(load_manifests(out)) == 2
