"""``import swarm``: services made as ``docker service create`` makes them (through the port), imported
to manifests, adopted with ``apply --adopt``: no task is replaced (same task IDs), only the
reconciler's labels change, and the plan is in sync afterwards. On the in-memory swarm and the lab."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from reconciler.core.labels import MANAGED_BY
from reconciler.importing.live_check import adoption_findings
from reconciler.importing.live_swarm import LiveImport, import_live, write_import
from reconciler.manifests.kinds.service import Service
from reconciler.manifests.loading import load_manifests
from tests.contract.conftest import ContractSwarm

SECOND = 1_000_000_000
# What docker-cli's `service create` writes for flags left at their defaults (cli/command/service/opts.go).
CLI_DEFAULTS: dict[str, Any] = {
    "UpdateConfig": {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5 * SECOND, "MaxFailureRatio": 0,
                     "Order": "stop-first"},
    "RollbackConfig": {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5 * SECOND, "MaxFailureRatio": 0,
                       "Order": "stop-first"},
    "EndpointSpec": {"Mode": "vip"},
}  # fmt: skip


def cli_service(cs: ContractSwarm, base: str, container: dict[str, Any], **spec: Any) -> str:
    """Create a service as the docker CLI would, through the port; returns its ID."""
    body = {
        "Name": cs.name(base),
        "Labels": spec.pop("Labels", {}),
        "TaskTemplate": {
            "ContainerSpec": {"Image": cs.image, "Args": ["sleep", "3600"], "Init": False,
                              "StopGracePeriod": 10 * SECOND, **container},
            "Resources": {"Limits": {}, "Reservations": {}},
            "RestartPolicy": {"Condition": "any", "Delay": 5 * SECOND, "MaxAttempts": 0},
            "Placement": {},
            **spec.pop("TaskTemplate", {}),
        },
        "Mode": {"Replicated": {"Replicas": 1}},
        **CLI_DEFAULTS,
        **spec,
    }  # fmt: skip
    return cs.port.create_service(body)


def imported(cs: ContractSwarm, folder: Path, **options: Any) -> LiveImport:
    snapshot = cs.port.snapshot()
    result = import_live(snapshot, **options)
    write_import(result.documents, folder)
    result.findings = adoption_findings(folder, snapshot, cs.instance, result.findings)
    return result


def mine(result: LiveImport, cs: ContractSwarm) -> list[str]:
    """The findings about this test's objects (the shared lab runs other tests' services too)."""
    return [str(f) for f in result.findings if cs.prefix in f.subject]


def adopt_and_check(cs: ContractSwarm, folder: Path, bases: list[str], running: int = 1) -> None:
    before = {base: cs.task_ids(base, running) for base in bases}
    assert all(len(ids) == running for ids in before.values()), before
    result = cs.reconcile(folder, adopt=True)
    assert result.converged, [(o.change.key, o.status, o.message) for o in result.applied.outcomes]
    for base in bases:
        live = cs.service(cs.name(base))
        assert live is not None and live["Spec"]["Labels"][MANAGED_BY] == cs.instance
        assert cs.task_ids(base, running) == before[base], base  # no task replaced
    assert cs.plan(folder).in_sync  # diff is clean


def test_a_cli_made_service_with_every_mapped_field_is_adopted_without_a_restart(
    cs: ContractSwarm, tmp_path: Path
) -> None:
    net = cs.port.create_network({"Name": cs.name("net"), "Driver": "overlay", "Attachable": True,
                                  "Labels": {"team": "web"}})  # fmt: skip
    config_id = cs.port.create_config({"Name": cs.name("conf"), "Data": base64.b64encode(b"a=1\n").decode()})
    secret_id = cs.port.create_secret({"Name": cs.name("pw"), "Data": base64.b64encode(b"s3cret").decode()})
    container = {
        "Args": ["sleep", "3600"],
        "Env": ["A=1", "B=two words", "EMPTY="],
        "Labels": {"tier": "front"},
        "User": "65534",
        "Dir": "/tmp",
        "Hostname": "{{.Service.Name}}-{{.Task.Slot}}",
        "CapabilityAdd": ["CAP_NET_ADMIN"],
        "CapabilityDrop": ["CAP_MKNOD"],
        "StopGracePeriod": 2 * SECOND,
        "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 5 * SECOND, "Retries": 3},
        "Ulimits": [{"Name": "nofile", "Soft": 1024, "Hard": 2048}],
        "Sysctls": {"net.core.somaxconn": "512"},
        "Init": True,
        "StopSignal": "SIGQUIT",
        "ReadOnly": True,
        "Hosts": ["10.0.0.5 db.local"],
        "DNSConfig": {"Nameservers": ["10.0.0.2"], "Options": ["ndots:2"]},
        "Groups": ["2000"],  # a number: a name must exist in the image's /etc/group
        "TTY": True,
        "OpenStdin": True,
        "Mounts": [{"Type": "tmpfs", "Target": "/scratch", "TmpfsOptions": {"SizeBytes": 16 * 1024 * 1024, "Mode": 0o1770}}, {"Type": "bind", "Source": "/tmp", "Target": "/host-tmp",
                                                              "ReadOnly": True},
                   {"Type": "volume", "Source": cs.name("plain"), "Target": "/plain"},
                   {"Type": "volume", "Source": cs.name("mem"), "Target": "/mem", "VolumeOptions": {
                       "Labels": {"backup": "no"},
                       "DriverConfig": {"Name": "local", "Options": {"type": "tmpfs", "device": "tmpfs"}}}}],
        "Configs": [{"File": {"Name": "/etc/app.conf", "UID": "0", "GID": "0", "Mode": 0o440},
                     "ConfigID": config_id, "ConfigName": cs.name("conf")}],
        "Secrets": [{"File": {"Name": "pw", "UID": "0", "GID": "0", "Mode": 0o400},
                     "SecretID": secret_id, "SecretName": cs.name("pw")}],
    }  # fmt: skip
    cli_service(
        cs,
        "web",
        container,
        Labels={"owner": "ops"},
        TaskTemplate={
            "Networks": [{"Target": net, "Aliases": ["web-alias"]}],
            "Resources": {"Limits": {"NanoCPUs": SECOND // 2, "MemoryBytes": 64 * 1024 * 1024}},
            "RestartPolicy": {"Condition": "on-failure", "Delay": 2 * SECOND, "MaxAttempts": 3},
            # as docker service create records them from the registry (the lab's node is linux/amd64)
            "Placement": {"Constraints": ["node.role==manager"], "MaxReplicas": 2,
                          "Platforms": [{"Architecture": "amd64", "OS": "linux"}, {"Architecture": "arm64", "OS": "linux"}]},
        },
        UpdateConfig={"Parallelism": 2, "Delay": SECOND, "FailureAction": "rollback", "Monitor": 5 * SECOND,
                      "MaxFailureRatio": 0, "Order": "start-first"},
        EndpointSpec={"Mode": "vip", "Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 18000 + cs.subnet_seed,
                                                "PublishMode": "host"}]},
    )  # fmt: skip
    folder = tmp_path / "imported"
    result = imported(cs, folder, services=[cs.name("web")])
    assert mine(result, cs) == []
    kinds = sorted((d["kind"], d["metadata"]["name"]) for d in result.documents)
    assert kinds == sorted([("Network", cs.name("net")), ("Config", cs.name("conf")), ("Secret", cs.name("pw")),
                            ("Service", cs.name("web")), ("Volume", cs.name("plain")), ("Volume", cs.name("mem"))])  # fmt: skip
    [service] = load_manifests(folder).of_kind(Service)
    assert service.spec.env == {"A": "1", "B": "two words", "EMPTY": ""}
    adopt_and_check(cs, folder, ["web"])


def test_an_anonymous_volume_and_a_dotted_alias_are_adopted_without_a_restart(
    cs: ContractSwarm, tmp_path: Path
) -> None:
    """As docker stack deploy sends compose's ``- /data`` (a volume mount with no Source, docker-cli
    ``convert/volume.go``) and ``aliases: [odd.internal]``: stated (``anonymous: true``, a DNS-name
    alias), so the adoption keeps both and the task."""
    net = cs.port.create_network({"Name": cs.name("dots"), "Driver": "overlay"})
    mounts = [{"Type": "volume", "Target": "/data"}, {"Type": "volume", "Target": "/cache"}]
    networks = [{"Target": net, "Aliases": ["odd.internal", "odd"]}]
    cli_service(cs, "anon", {"Mounts": mounts}, TaskTemplate={"Networks": networks})
    folder = tmp_path / "imported"
    result = imported(cs, folder, services=[cs.name("anon")])
    assert mine(result, cs) == []
    [service] = [d["spec"] for d in result.documents if d["kind"] == "Service"]
    assert service["mounts"] == [{"anonymous": True, "target": "/data"}, {"anonymous": True, "target": "/cache"}]
    assert service["networks"] == [{"name": cs.name("dots"), "aliases": ["odd.internal", "odd"]}]
    adopt_and_check(cs, folder, ["anon"])
    live = cs.service(cs.name("anon"))
    assert live is not None
    assert live["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"][0] == {"Type": "volume", "Target": "/data"}


def test_a_field_the_service_kind_lacks_is_reported_by_name(cs: ContractSwarm, tmp_path: Path) -> None:
    log = {"LogDriver": {"Name": "json-file", "Options": {"max-sise": "1m"}}}  # an option the Logging kind refuses
    cli_service(cs, "odd", {"Env": ["PASSED_THROUGH"]}, TaskTemplate=log, Mode={"Replicated": {"Replicas": 0}})
    result = imported(cs, tmp_path / "imported", services=[cs.name("odd")])
    found = mine(result, cs)
    for field in ("TaskTemplate.ContainerSpec.Env", "TaskTemplate.LogDriver"):
        [line] = [f for f in found if f"{field}" in f and "no manifest field" in f]
        # ... each with the adoption's effect on it: the plan changes it (a task template change)
        assert "(its tasks restart)" in line or "drops it" in line, line


def test_an_nfs_volume_mount_becomes_an_nfs_volume_and_odd_options_stay_driver_options(
    cs: ContractSwarm, tmp_path: Path
) -> None:
    def nfs(source: str, target: str, o: str) -> dict[str, Any]:
        options = {"type": "nfs", "o": o, "device": ":/srv/www"}
        return {"Type": "volume", "Source": source, "Target": target,
                "VolumeOptions": {"DriverConfig": {"Name": "local", "Options": options}}}  # fmt: skip

    nameless = nfs(cs.name("nameless"), "/nameless", "addr=10.9.9.9,nfsvers=4.1")
    del nameless["VolumeOptions"]["DriverConfig"]["Name"]  # stack deploy's driver_opts without a driver
    mounts = [nfs(cs.name("www"), "/www", "addr=10.9.9.9,nfsvers=4.1,soft,timeo=600"),
              nfs(cs.name("odd"), "/odd", "addr=10.9.9.9,rw,nfsvers=4"), nameless]  # fmt: skip
    cli_service(cs, "nfs", {"Mounts": mounts}, Mode={"Replicated": {"Replicas": 0}})  # no NFS server: no task
    folder = tmp_path / "imported"
    result = imported(cs, folder, services=[cs.name("nfs")])
    assert mine(result, cs) == []
    volumes = {d["metadata"]["name"]: d["spec"] for d in result.documents if d["kind"] == "Volume"}
    assert volumes[cs.name("www")] == {
        "external": True, "nfs": {"server": "10.9.9.9", "path": "/srv/www", "version": "4.1", "options": ["soft", "timeo=600"]}
    }  # fmt: skip
    assert volumes[cs.name("odd")]["driverOptions"]["o"] == "addr=10.9.9.9,rw,nfsvers=4"  # nfs: would reorder it
    assert "driver" not in volumes[cs.name("nameless")] and "nfs" not in volumes[cs.name("nameless")]
    assert cs.reconcile(folder, adopt=True).converged
    assert cs.plan(folder).in_sync


def test_traefik_v2_labels_become_routes_and_the_adoption_rewrites_only_labels(
    cs: ContractSwarm, tmp_path: Path
) -> None:
    net = cs.port.create_network({"Name": cs.name("proxy"), "Driver": "overlay"})
    host = f"{cs.prefix}.example.org"
    labels = {
        "traefik.enable": "true",
        "traefik.http.routers.front.rule": f"Host(`{host}`)",
        "traefik.http.routers.front.entrypoints": "websecure",
        "traefik.http.routers.front.tls.certresolver": "le",
        "traefik.http.routers.front.middlewares": "front-https",
        "traefik.http.middlewares.front-https.redirectscheme.scheme": "https",
        "traefik.http.services.front.loadbalancer.server.port": "80",
        "traefik.docker.network": cs.name("proxy"),
    }
    cli_service(cs, "front", {}, Labels=labels, TaskTemplate={"Networks": [{"Target": net}]})
    folder = tmp_path / "imported"
    result = imported(cs, folder, services=[cs.name("front")])
    routes = [d for d in result.documents if d["kind"] == "Route"]
    assert [r["spec"]["hosts"] for r in routes] == [[host]]
    assert routes[0]["spec"]["network"] == cs.name("proxy") and routes[0]["spec"]["port"] == 80
    assert [d["spec"]["type"] for d in result.documents if d["kind"] == "Middleware"] == ["redirectScheme"]
    found = mine(result, cs)
    # v2's network label becomes v3's: a label change, named, and no task restarts for it
    [rewrite] = [f for f in found if "Labels.traefik.*" in f]
    # traefik.docker.network and the lowercase redirectscheme key go, their v3 spellings come
    assert "2 live label(s) removed, 4 added, 0 changed; no task restarts" in rewrite, rewrite
    assert not any("(its tasks restart)" in f for f in found), found
    adopt_and_check(cs, folder, ["front"])
    live = cs.service(cs.name("front"))
    assert live is not None and live["Spec"]["Labels"]["traefik.swarm.network"] == cs.name("proxy")


def test_a_stack_service_with_traefik_labels_imports_into_its_namespace(cs: ContractSwarm, tmp_path: Path) -> None:
    stack = cs.prefix  # a stack named like the test's prefix: its objects are <prefix>_<name>
    net = cs.port.create_network({"Name": f"{stack}_front", "Driver": "overlay",
                                  "Labels": {"com.docker.stack.namespace": stack}})  # fmt: skip
    labels = {
        "com.docker.stack.namespace": stack,
        "com.docker.stack.image": cs.image,
        "traefik.http.routers.app.rule": "Host(`app.example.org`) && PathPrefix(`/api`)",
        "traefik.http.services.app.loadbalancer.server.port": "8080",
        "traefik.docker.network": f"{stack}_front",
    }
    cli_service(cs, "app", {"Labels": {"com.docker.stack.namespace": stack}}, Name=f"{stack}_app", Labels=labels,
                TaskTemplate={"Networks": [{"Target": net, "Aliases": ["app"]}]})  # fmt: skip
    folder = tmp_path / "imported"
    result = imported(cs, folder, stack=stack)
    by_kind = {d["kind"]: d for d in result.documents}
    assert by_kind["Service"]["metadata"] == {"name": "app", "namespace": stack}
    assert by_kind["Route"]["metadata"]["namespace"] == stack and by_kind["Route"]["spec"]["service"] == "app"
    assert by_kind["Route"]["spec"]["pathPrefix"] == "/api"
    assert not any("(its tasks restart)" in f for f in mine(result, cs)), mine(result, cs)
    before = cs.eventually(lambda: running_tasks(cs, f"{stack}_app"))
    assert len(before) == 1
    assert cs.reconcile(folder, adopt=True).converged
    assert running_tasks(cs, f"{stack}_app") == before
    assert cs.plan(folder).in_sync


def running_tasks(cs: ContractSwarm, service: str) -> set[str]:
    """IDs of a service's running tasks, by its Swarm name, through the port (both backends)."""
    snapshot = cs.port.snapshot()
    [service_id] = [s["ID"] for s in snapshot.services if s["Spec"]["Name"] == service]
    return {t["ID"] for t in snapshot.tasks if t.get("ServiceID") == service_id
            and t.get("DesiredState") == "running" and (t.get("Status") or {}).get("State") == "running"}  # fmt: skip
