"""A Service's runtime settings (``service_runtime``): the Engine stores any value and fails each task
when it starts, so each value a task would refuse is refused at validate, at its place, with the fix;
Compose's short forms (a ulimit as one number, a sysctl as a number, extra hosts as a map) are read."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.manifests.kinds.service import Service
from reconciler.manifests.kinds.service_runtime import canonical_signal, swarm_host_entry
from reconciler.manifests.loading import load_manifests
from reconciler.render.service_spec import service_spec
from tests.unit.validation_helpers import SERVICE_WEB, check_service_problem, write


@pytest.mark.parametrize(
    ("fields", "row", "column", "field", "fragment"),
    [
        ("ulimits: {nofiles: 5}", 7, 13, "spec.ulimits.nofiles", "'nofiles' is not a ulimit: use one of core, "),
        ("ulimits:\n    nproc: {soft: 10, hard: 5}", 8, 13, "spec.ulimits.nproc.soft", "soft must be <= hard"),
        ("ulimits: {nofile: {soft: -1, hard: 5}}", 7, 22, "spec.ulimits.nofile.soft", "above the hard limit"),
        ("ulimits: {nofile: -2}", 7, 13, "spec.ulimits.nofile", "write a number at least -1"),
        ("sysctls: {kernel.hostname: x}", 7, 13, "spec.sysctls.kernel.hostname", "only net.*, fs.mqueue.*"),
        ("stopSignal: SIGFOO", 7, 3, "spec.stopSignal", "write a name such as SIGTERM"),
        ("stopSignal: '65'", 7, 3, "spec.stopSignal", "not a signal number (1 to 64)"),
        ("extraHosts: ['db 10.0.0.5']", 7, 16, "spec.extraHosts[0]", "e.g. db.local:10.0.0.5"),
        ("extraHosts: ['db:10.0.0']", 7, 16, "spec.extraHosts[0]", "'10.0.0' is not an IP address"),
        ("extraHosts: {db: nowhere}", 7, 3, "spec.extraHosts", "'nowhere' is not an IP address"),
        ("dns: {nameservers: [dns.google]}", 7, 23, "spec.dns.nameservers[0]", "a nameserver is given by address"),
        ("dns: {search: ['a b']}", 7, 18, "spec.dns.search[0]", "is not a domain name"),
        ("dns: {options: ['ndots 2']}", 7, 19, "spec.dns.options[0]", "such as ndots:2"),
        ("groupAdd: ['a b']", 7, 14, "spec.groupAdd[0]", "not a group name or number"),
        ("isolation: vm", 7, 3, "spec.isolation", "write 'default', 'process' or 'hyperv'"),
    ],
)
def test_a_value_the_task_would_refuse_is_refused_at_its_place(
    tmp_path: Path, fields: str, row: int, column: int, field: str, fragment: str
) -> None:
    check_service_problem(tmp_path, f"  {fields}\n", row, column, field, fragment)


def test_compose_forms_compile_to_the_engine_form(tmp_path: Path) -> None:
    write(
        tmp_path,
        "s.yaml",
        SERVICE_WEB
        + "  ulimits: {nproc: 65535, nofile: {soft: 20000, hard: 40000}}\n"
        + "  sysctls: {net.core.somaxconn: 1024}\n"
        + "  extraHosts: {db.local: 10.0.0.5, v6: '[2001:db8::5]'}\n"
        + "  groupAdd: [video, 1000]\n  init: false\n  readOnly: true\n  stopSignal: usr1\n"
        + "  dns: {nameservers: [9.9.9.9]}\n",
    )
    manifests = load_manifests(tmp_path)
    [service] = manifests.of_kind(Service)
    container = service_spec(service, manifests)["TaskTemplate"]["ContainerSpec"]
    assert container["Ulimits"] == [
        {"Name": "nofile", "Soft": 20000, "Hard": 40000},
        {"Name": "nproc", "Soft": 65535, "Hard": 65535},
    ]  # sorted by name, as docker/cli convertUlimits sends them
    assert container["Sysctls"] == {"net.core.somaxconn": "1024"}
    assert container["Hosts"] == ["10.0.0.5 db.local", "2001:db8::5 v6"]
    assert container["Groups"] == ["video", "1000"]
    assert container["Init"] is False and container["ReadOnly"] is True
    assert container["StopSignal"] == "usr1"  # sent as written; compared as SIGUSR1
    assert container["DNSConfig"] == {"Nameservers": ["9.9.9.9"]}
    assert "Isolation" not in container  # the default is not sent


@pytest.mark.parametrize(
    ("add", "drop", "sent_add", "sent_drop"),
    [
        ("[NET_ADMIN, CHOWN]", "[NET_ADMIN, MKNOD]", ["CAP_CHOWN", "CAP_NET_ADMIN"], ["CAP_MKNOD"]),
        ("[NET_ADMIN, ALL]", "[ALL]", ["ALL"], None),
        ("[]", "[MKNOD, ALL]", None, ["ALL"]),
    ],
)
def test_capabilities_are_sent_as_the_docker_cli_sends_them(
    tmp_path: Path, add: str, drop: str, sent_add: list[str] | None, sent_drop: list[str] | None
) -> None:
    write(tmp_path, "s.yaml", SERVICE_WEB + f"  capAdd: {add}\n  capDrop: {drop}\n")
    manifests = load_manifests(tmp_path)
    [service] = manifests.of_kind(Service)
    container = service_spec(service, manifests)["TaskTemplate"]["ContainerSpec"]
    assert (container.get("CapabilityAdd"), container.get("CapabilityDrop")) == (sent_add, sent_drop)


@pytest.mark.parametrize(
    ("signal", "canonical"), [("SIGTERM", "SIGTERM"), ("quit", "SIGQUIT"), ("9", "9"), ("RTMIN+3", "SIGRTMIN+3")]
)
def test_signals_read_as_moby_reads_them(signal: str, canonical: str) -> None:
    assert canonical_signal(signal) == canonical


@pytest.mark.parametrize(
    ("entry", "swarm"),
    [("db:10.0.0.5", "10.0.0.5 db"), ("db=10.0.0.5", "10.0.0.5 db"), ("v6:::1", "::1 v6"),
     ("gw:host-gateway", "host-gateway gw")],
)  # fmt: skip
def test_extra_hosts_become_swarm_lines(entry: str, swarm: str) -> None:
    assert swarm_host_entry(entry) == swarm


def test_compose_dns_keys_get_the_field_to_write(tmp_path: Path) -> None:
    check_service_problem(tmp_path, "  dns_opt: [ndots:2]\n", 7, 3, "spec.dns_opt", "is `dns: {options: [...]}` here")
