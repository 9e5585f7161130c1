"""A Service's runtime settings (ulimits, sysctls, init, stop signal, read-only root, extra hosts,
DNS, groups, tty, stdin, capabilities): created as stated, planned noop after apply, and a service the docker CLI made with the
same settings is adopted by a label-only update (no task restarts), on the in-memory swarm and the lab."""

from __future__ import annotations

from typing import Any

from tests.contract.conftest import ContractSwarm
from tests.contract.test_converge import assert_adopted_without_restart, assert_noop_forever

RUNTIME: dict[str, Any] = {
    "ulimits": {"nproc": 4096, "nofile": {"soft": 2048, "hard": 4096}},
    "sysctls": {"net.core.somaxconn": 512},
    "init": True,
    "stopSignal": "USR1",
    "readOnly": True,
    "extraHosts": ["db.local:10.0.0.5", "v6.local=[2001:db8::5]"],
    "dns": {"nameservers": ["10.0.0.53", "10.0.0.54"], "search": ["svc.local"], "options": ["ndots:2", "timeout:3"]},
    "groupAdd": ["2000", "1000"],  # numbers: a group name must exist in the image's /etc/group
    "tty": True,
    "stdinOpen": True,
    "capAdd": ["NET_ADMIN", "CHOWN"],
    "capDrop": ["NET_ADMIN", "MKNOD"],  # added and dropped: the CLI only adds it
}

# What `docker service create` sends for those settings (docker/cli cli/command/service/opts.go), in
# the CLI's order: ulimits and groups sorted, hosts as "ip host", stop signal as typed, an empty
# Privileges, Init as a pointer.
CLI_CONTAINER: dict[str, Any] = {
    "Ulimits": [{"Name": "nofile", "Hard": 4096, "Soft": 2048}, {"Name": "nproc", "Hard": 4096, "Soft": 4096}],
    "Sysctls": {"net.core.somaxconn": "512"},
    "Init": True,
    "StopSignal": "SIGUSR1",
    "ReadOnly": True,
    "Hosts": ["10.0.0.5 db.local", "2001:db8::5 v6.local"],
    "DNSConfig": {
        "Nameservers": ["10.0.0.53", "10.0.0.54"],
        "Search": ["svc.local"],
        "Options": ["ndots:2", "timeout:3"],
    },
    "Groups": ["1000", "2000"],
    "TTY": True,
    "OpenStdin": True,
    "CapabilityAdd": ["CAP_CHOWN", "CAP_NET_ADMIN"],
    "CapabilityDrop": ["CAP_MKNOD"],
    "Privileges": {"CredentialSpec": None, "SELinuxContext": None},
    "StopGracePeriod": 1_000_000_000,
}


def test_runtime_settings_are_created_as_stated_and_plan_noop(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Service", "rt", cs.sleeper(**RUNTIME)))
    cs.converge()
    live = cs.service(cs.name("rt"))
    assert live is not None
    container = live["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert container["Ulimits"] == [{"Name": "nofile", "Hard": 4096, "Soft": 2048},
                                    {"Name": "nproc", "Hard": 4096, "Soft": 4096}]  # fmt: skip
    assert container["Sysctls"] == {"net.core.somaxconn": "512"}
    assert container["Init"] is True and container["ReadOnly"] is True and container["StopSignal"] == "USR1"
    assert container["Hosts"] == ["10.0.0.5 db.local", "2001:db8::5 v6.local"]
    assert container["DNSConfig"]["Nameservers"] == ["10.0.0.53", "10.0.0.54"]
    assert container["Groups"] == ["2000", "1000"]
    assert cs.task_ids("rt")  # the lab's task runs with all of it
    assert_noop_forever(cs)


def test_a_changed_runtime_setting_is_an_update(cs: ContractSwarm) -> None:
    cs.write(cs.doc("Service", "rt", {"image": cs.image, "replicas": 0, **RUNTIME}))
    cs.converge()
    cs.write(cs.doc("Service", "rt", {"image": cs.image, "replicas": 0, **RUNTIME, "ulimits": {"nofile": 1024}}))
    cs.converge()
    live = cs.service(cs.name("rt"))
    assert live is not None
    assert live["Spec"]["TaskTemplate"]["ContainerSpec"]["Ulimits"] == [{"Name": "nofile", "Hard": 1024, "Soft": 1024}]
    assert_noop_forever(cs)


def test_a_cli_made_service_with_runtime_settings_is_adopted_without_a_restart(cs: ContractSwarm) -> None:
    container = {"Image": cs.image, "Args": ["sleep", "3600"], **CLI_CONTAINER}
    assert_adopted_without_restart(cs, "rt", {"ContainerSpec": container}, cs.sleeper(**RUNTIME))
