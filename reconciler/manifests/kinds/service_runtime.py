"""A Service's container runtime settings, the Compose service keys ``docker stack deploy`` passes to
Swarm: ulimits, sysctls, init, stop signal, read-only root, extra hosts, DNS, groups, tty, stdin
and isolation.

``ServiceSpec`` inherits these fields (``RuntimeFields``); ``reconciler.render.service_spec`` compiles
them into ``TaskTemplate.ContainerSpec`` (``Ulimits``, ``Sysctls``, ``Init``, ``StopSignal``,
``ReadOnly``, ``Hosts``, ``DNSConfig``, ``Groups``, ``TTY``, ``OpenStdin``, ``Isolation``), as docker/cli
cli/compose/convert/service.go does. The Engine accepts any of these values at create time and
fails the task later (seen on Engine 28): the rules checked here are the ones the task would meet,
each citing its source.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, field_validator

from reconciler.manifests.types import Flag, SafeText, Spec, WholeNumber, empty_list, nested_error, shown

__all__ = ["DnsSettings", "RuntimeFields", "Ulimit", "canonical_signal", "swarm_host_entry"]

# go-units ulimit.go ulimitNameMapping: the names the daemon turns into RLIMIT_*.
ULIMIT_NAMES = frozenset(
    {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
     "rss", "rtprio", "rttime", "sigpending", "stack"}
)  # fmt: skip

# docker/cli opts/opts.go ValidateSysctl (the sysctls namespaced per container, which runc sets).
_SYSCTL_NAMES = frozenset(
    {"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall", "kernel.shmmax",
     "kernel.shmmni", "kernel.shm_rmid_forced"}
)  # fmt: skip
_SYSCTL_PREFIXES = ("fs.mqueue.", "net.")
_SYSCTL_NAME = re.compile(r"^[a-z0-9_]+(\.[A-Za-z0-9_*-]+)+$")

# moby/sys signal/signal_linux.go SignalMap (Linux), RTMIN+n and RTMAX-n included.
_SIGNALS = {
    "ABRT": 6, "ALRM": 14, "BUS": 7, "CHLD": 17, "CLD": 17, "CONT": 18, "FPE": 8, "HUP": 1, "ILL": 4,
    "INT": 2, "IO": 29, "IOT": 6, "KILL": 9, "PIPE": 13, "POLL": 29, "PROF": 27, "PWR": 30, "QUIT": 3,
    "SEGV": 11, "STKFLT": 16, "STOP": 19, "SYS": 31, "TERM": 15, "TRAP": 5, "TSTP": 20, "TTIN": 21,
    "TTOU": 22, "URG": 23, "USR1": 10, "USR2": 12, "VTALRM": 26, "WINCH": 28, "XCPU": 24, "XFSZ": 25,
    "RTMIN": 34, "RTMAX": 64,
    **{f"RTMIN+{n}": 34 + n for n in range(1, 16)},
    **{f"RTMAX-{n}": 64 - n for n in range(1, 15)},
}  # fmt: skip
_MAX_SIGNAL = 64
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?$")
_SEARCH_DOMAIN = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")
_DNS_OPTION = re.compile(r"^[a-z][a-z0-9-]*(:[0-9]+)?$")
_GROUP = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
HOST_GATEWAY = "host-gateway"  # moby opts/hosts.go: the daemon fills in its gateway address
UNLIMITED = -1  # RLIM_INFINITY as the daemon reads an int64 -1


def canonical_signal(signal: str) -> str:
    """A stop signal as moby/sys signal.ParseSignal reads it: a number, or a name with or without
    ``SIG`` (any case). Returns ``SIG<NAME>`` for a name, the number's text for a number; raises
    ``ValueError`` for anything the daemon would refuse when it stops the task."""
    text = signal.strip(" ")
    if text.isdigit():
        if not 1 <= int(text) <= _MAX_SIGNAL:
            raise ValueError(f"{shown(signal)} is not a signal number (1 to {_MAX_SIGNAL})")
        return str(int(text))
    name = text.upper().removeprefix("SIG")
    if name not in _SIGNALS:
        raise ValueError(
            f"{shown(signal)} is not a signal: write a name such as SIGTERM, SIGQUIT, SIGUSR1, or a number"
        )
    return f"SIG{name}"


class Ulimit(Spec):
    """Compose's long form: ``{soft: N, hard: N}`` (-1 is unlimited); the short form is one number."""

    soft: WholeNumber = Field(ge=UNLIMITED)
    hard: WholeNumber = Field(ge=UNLIMITED)


def _ulimit_form(value: object) -> object:
    """Compose's ``nofile: 65535`` means soft and hard both 65535 (docker/cli convertUlimits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {"soft": value, "hard": value}
    return value


def _limit(value: int) -> float:
    return float("inf") if value == UNLIMITED else value


def _sysctl_value(value: object) -> object:
    """Compose writes sysctl values as numbers too (``net.core.somaxconn: 1024``): the Engine takes strings."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value


def swarm_host_entry(entry: str) -> str:
    """Compose's ``host:ip`` (or ``host=ip``, an IPv6 address in brackets allowed) → Swarm's
    ``ip host`` (docker/cli convertExtraHosts; checks from docker/cli opts/hosts.go ValidateExtraHost).
    Raises ``ValueError`` saying the form to write."""
    host, sep, address = entry.partition("=")
    if not sep:
        host, sep, address = entry.partition(":")
    if not sep or not host or ":" in host:
        raise ValueError(f"{shown(entry)} is not host:address, e.g. db.local:10.0.0.5 or api=[2001:db8::5]")
    if not _HOST_NAME.fullmatch(host):
        raise ValueError(f"{shown(host)} is not a host name (letters, digits, '.', '-', '_')")
    if len(address) > 2 and address[0] == "[" and address[-1] == "]":
        address = address[1:-1]
    if address != HOST_GATEWAY:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            raise ValueError(f"{shown(address)} is not an IP address (or {HOST_GATEWAY}) in {shown(entry)}") from None
    return f"{address} {host}"


def _host_map(value: object) -> object:
    """Compose's map form ``{host: address}`` is the list form ``[host:address]``."""
    if isinstance(value, dict):
        return [f"{host}:{address}" for host, address in value.items()]
    return value


def _ip(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{shown(value)} is not an IP address: a nameserver is given by address") from None
    return value


def _search_domain(value: str) -> str:
    if not _SEARCH_DOMAIN.fullmatch(value) or len(value) > 253:
        raise ValueError(f"{shown(value)} is not a domain name such as example.org")
    return value


def _dns_option(value: str) -> str:
    if not _DNS_OPTION.fullmatch(value):
        raise ValueError(f"{shown(value)} is not a resolv.conf option such as ndots:2, timeout:3 or rotate")
    return value


def _each(values: list[str], check: Callable[[str], object]) -> list[str]:
    """``values`` once ``check`` passes each; its ``ValueError`` is reported at the entry's index."""
    for index, value in enumerate(values):
        try:
            check(value)
        except ValueError as error:
            raise nested_error((index,), str(error)) from None
    return values


def _signal(value: str) -> str:
    canonical_signal(value)
    return value


def _group(value: str | int) -> str:
    text = str(value)
    if not _GROUP.fullmatch(text):
        raise ValueError(f"{shown(text)} is not a group name or number")
    return text


class DnsSettings(Spec):
    """``ContainerSpec.DNSConfig``: Compose's ``dns``, ``dns_search`` and ``dns_opt``, in one place."""

    nameservers: list[str] = Field(default_factory=empty_list, description="IP addresses, tried in order.")
    search: list[str] = Field(default_factory=empty_list)
    options: list[str] = Field(default_factory=empty_list)

    @field_validator("nameservers")
    @classmethod
    def _nameservers(cls, values: list[str]) -> list[str]:
        return _each(values, _ip)

    @field_validator("search")
    @classmethod
    def _search(cls, values: list[str]) -> list[str]:
        return _each(values, _search_domain)

    @field_validator("options")
    @classmethod
    def _options(cls, values: list[str]) -> list[str]:
        return _each(values, _dns_option)


class RuntimeFields(Spec):
    """The container runtime fields of ``ServiceSpec`` (a base class: the fields sit in ``spec``)."""

    ulimits: dict[str, Annotated[Ulimit, BeforeValidator(_ulimit_form)]] = Field(
        default_factory=dict,
        description="Resource limits by name (nofile, nproc, core, ...): a number (soft and hard) or "
        "{soft, hard}; -1 is unlimited.",
    )
    sysctls: dict[str, Annotated[SafeText, BeforeValidator(_sysctl_value)]] = Field(
        default_factory=dict,
        description="Kernel parameters of the task's namespaces: net.*, fs.mqueue.* and the IPC kernel.* ones.",
    )
    init: Flag | None = Field(
        default=None, description="Run an init process as PID 1 (reaps zombies, forwards signals)."
    )
    stop_signal: str | None = Field(
        default=None, description="The signal that stops a task (default SIGTERM): a name such as SIGQUIT, or a number."
    )
    read_only: Flag = Field(default=False, description="Mount the container's root filesystem read-only.")
    extra_hosts: Annotated[list[str], BeforeValidator(_host_map)] = Field(
        default_factory=empty_list,
        description='Lines added to /etc/hosts, Compose\'s form "host:address" (or host=address; host-gateway allowed).',
    )
    dns: DnsSettings | None = Field(default=None, description="Nameservers, search domains and resolver options.")
    group_add: list[Annotated[str, BeforeValidator(_group)]] = Field(
        default_factory=empty_list, description="Supplementary groups of the task's user (names or numbers)."
    )
    tty: Flag = Field(default=False, description="Give the task a pseudo-terminal (Compose's tty).")
    stdin_open: Flag = Field(default=False, description="Keep the task's stdin open (Compose's stdin_open).")
    isolation: Literal["default", "process", "hyperv"] = Field(
        default="default", description="Windows nodes only: process or hyperv; Linux runs only `default`."
    )

    @field_validator("ulimits")
    @classmethod
    def _ulimits(cls, values: dict[str, Ulimit]) -> dict[str, Ulimit]:
        for name, limit in values.items():
            if name not in ULIMIT_NAMES:
                raise nested_error(
                    (name,), f"{shown(name)} is not a ulimit: use one of {', '.join(sorted(ULIMIT_NAMES))}"
                )
            if _limit(limit.soft) > _limit(limit.hard):
                # the kernel's setrlimit refuses it (EINVAL); go-units ParseUlimit says the same
                raise nested_error(
                    (name, "soft"),
                    f"the soft limit {limit.soft} is above the hard limit {limit.hard}: soft must be <= hard",
                )
        return values

    @field_validator("sysctls")
    @classmethod
    def _sysctls(cls, values: dict[str, str]) -> dict[str, str]:
        for name in values:
            allowed = name in _SYSCTL_NAMES or name.startswith(_SYSCTL_PREFIXES)
            if not allowed or not _SYSCTL_NAME.fullmatch(name):
                raise nested_error(
                    (name,),
                    f"{shown(name)} is not a sysctl a task may set: only net.*, fs.mqueue.* and "
                    "kernel.msg*/sem/shm* are namespaced (docker/cli ValidateSysctl)",
                )
        return values

    @field_validator("stop_signal")
    @classmethod
    def _stop_signal(cls, value: str | None) -> str | None:
        return None if value is None else _signal(value)

    @field_validator("extra_hosts")
    @classmethod
    def _extra_hosts(cls, values: list[str]) -> list[str]:
        return _each(values, swarm_host_entry)
