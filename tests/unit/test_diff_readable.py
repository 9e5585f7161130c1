"""``diff`` reads like ``kubectl diff`` (issue 16): manifest field names, only the list entries that
changed, each Route and Middleware under its own name, a summary line; ``-o json`` holds the same
differences as data. Against the in-memory swarm; the CLI's view is printed to a string."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from reconciler.cli.plan_view import print_plan
from reconciler.cli.styled import Out
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import plan_once, reconcile_once
from reconciler.manifests.loading import load_manifests
from reconciler.state.desired import compile_desired
from reconciler.state.field_names import ManifestField, manifest_field
from reconciler.state.plan import Plan
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"


def manifests(replicas: int, env: dict[str, str], entry_point: str, sts: int) -> list[dict[str, Any]]:
    return [
        {"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}},
        {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"},
         "spec": {"image": "x:1", "replicas": replicas, "env": env, "networks": ["net"]}},
        {"apiVersion": API, "kind": "Middleware", "metadata": {"name": "hsts"},
         "spec": {"type": "headers", "options": {"stsSeconds": sts}}},
        {"apiVersion": API, "kind": "Route", "metadata": {"name": "web"},
         "spec": {"service": "web", "port": 80, "hosts": ["a.example.org"], "entryPoints": [entry_point],
                  "middlewares": ["hsts"]}},
    ]  # fmt: skip


def changed_plan(tmp_path: Path) -> Plan:
    swarm = FakeSwarm()
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(manifests(1, {"A": "1", "B": "2"}, "web", 100)))
    reconcile_once(swarm, compile_desired(load_manifests(tmp_path), "t"), PlanOptions())
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(manifests(3, {"A": "1", "B": "3", "C": "4"}, "websecure", 200)))
    return plan_once(swarm, compile_desired(load_manifests(tmp_path), "t"), PlanOptions())[1]


def test_the_text_diff_names_manifest_fields_changed_entries_and_routes(tmp_path: Path) -> None:
    console = Console(file=io.StringIO(), width=200, no_color=True)
    print_plan(Out(console=console), changed_plan(tmp_path))
    assert console.file.getvalue().splitlines() == [  # type: ignore[attr-defined]
        "~ Service/web  update: the manifest changed",
        "    spec.env:",
        '      - "B=2"',
        '      + "B=3"',
        '      + "C=4"',
        "    spec.replicas: 1 → 3",
        "  ~ Middleware/hsts (labels on Service/web)",
        '      spec.options.stsSeconds: "100" → "200"',
        "  ~ Route/web (labels on Service/web)",
        '      spec.entryPoints: "web" → "websecure"',
        "Plan: 1 to update, 1 unchanged — differs.",
    ]


def test_json_holds_the_same_differences_and_the_summary(tmp_path: Path) -> None:
    data = changed_plan(tmp_path).as_json()
    assert data["summary"] == {"to_create": 0, "to_update": 1, "to_replace": 0, "to_delete": 0, "blocked": 0,
                               "conflicts": 0, "unchanged": 1}  # fmt: skip
    (web,) = [c for c in data["changes"] if c["key"] == "Service/web"]
    shown = [(f["owner"], f["field"], f["op"], f["before"], f["after"]) for f in web["fields"]]
    assert shown == [
        ("Service/web", "spec.env", "remove", "B=2", None),
        ("Service/web", "spec.env", "add", None, "B=3"),
        ("Service/web", "spec.env", "add", None, "C=4"),
        ("Middleware/hsts", "spec.options.stsSeconds", "change", "100", "200"),
        ("Route/web", "spec.entryPoints", "change", "web", "websecure"),
        ("Service/web", "spec.replicas", "change", 1, 3),
    ]
    assert all(f["entry"] for f in web["fields"][:3])
    assert web["fields"][-1]["engine_field"] == "Mode.Replicas"  # the Engine's name stays, for tools


def test_essence_paths_map_to_manifest_fields() -> None:
    web = "Service/web"
    cases = {
        ("Mode", "Replicas"): ManifestField(web, "spec.replicas"),
        ("ContainerSpec", "Env"): ManifestField(web, "spec.env"),
        ("ContainerSpec", "Mounts", 0, "Source"): ManifestField(web, "spec.mounts[0].source"),
        ("ContainerSpec", "Healthcheck", "Interval"): ManifestField(web, "spec.healthcheck.interval"),
        ("Resources", "Limits", "MemoryBytes"): ManifestField(web, "spec.resources.limits.memory"),
        ("Placement", "MaxReplicas"): ManifestField(web, "spec.placement.maxReplicasPerNode"),
        ("UpdateConfig", "FailureAction"): ManifestField(web, "spec.updateConfig.failureAction"),
        ("EndpointSpec", "Ports"): ManifestField(web, "spec.ports"),
        ("ContainerSpec", "Ulimits"): ManifestField(web, "spec.ulimits"),
        ("ContainerSpec", "StopSignal"): ManifestField(web, "spec.stopSignal"),
        ("ContainerSpec", "Hosts"): ManifestField(web, "spec.extraHosts"),
        ("ContainerSpec", "DNSConfig", "Nameservers"): ManifestField(web, "spec.dns.nameservers"),
        ("ContainerSpec", "Groups"): ManifestField(web, "spec.groupAdd"),
        ("ContainerSpec", "TTY"): ManifestField(web, "spec.tty"),
        ("ContainerSpec", "OpenStdin"): ManifestField(web, "spec.stdinOpen"),
        ("LogDriver", "Options", "max-size"): ManifestField(web, "spec.logging.options.max-size"),
        ("Resources", "Reservations", "GenericResources"): ManifestField(
            web, "spec.resources.reservations.genericResources"
        ),
        ("Labels", "team"): ManifestField(web, "spec.labels[team]"),
        ("Labels", "traefik.http.routers.api.rule"): ManifestField("Route/api", "spec.hosts/spec.pathPrefix (rule)"),
        ("Labels", "traefik.http.services.api.loadbalancer.server.port"): ManifestField("Route/api", "spec.port"),
    }
    for path, expected in cases.items():
        assert manifest_field(web, "Service", path) == expected, path
    assert manifest_field("Config/c", "Config", ("Name",)) == ManifestField("Config/c", "spec.data")
    assert manifest_field("Network/n", "Network", ("IPAM", 0, "Subnet")) == ManifestField(
        "Network/n", "spec.ipam[0].subnet"
    )
