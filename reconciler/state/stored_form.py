"""How the Engine stores what it is sent: the one place that knows its defaults, the fields it drops
and what it re-spells. Two readers use it:

- ``state.essence`` reduces a sent spec and a stored object to the same essence, so that what the
  engine (or the docker CLI) fills in or re-sorts never counts as a difference;
- ``swarm.fake.FakeSwarm`` stores specs with ``store_*`` the way the Engine does, so fast tests
  see what the lab sees.

Each quirk is one ``Quirk`` entry in ``QUIRKS`` (with the engine source it comes from) and one test
in ``tests/contract/test_stored_form.py``, run against the in-memory swarm and against real engines.
Observed on Engine 20.10 (API 1.41) in the lab unless an entry says otherwise.
"""

from __future__ import annotations

import copy
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CONTAINER_SERVER_FIELDS",
    "DEFAULT_ENDPOINT_MODE",
    "MAP_FIELDS",
    "POINTER_BOOLS",
    "POLICY_DEFAULTS",
    "POLICY_STORED_ZEROES",
    "PORT_DEFAULTS",
    "PRIVILEGES_STORED",
    "QUIRKS",
    "RESTART_DEFAULTS",
    "STOP_GRACE_DEFAULT",
    "TASK_SERVER_FIELDS",
    "UNORDERED_CONTAINER_LISTS",
    "VXLAN_OPTION",
    "ZERO_OMITTED",
    "Quirk",
    "is_job",
    "job_defaults",
    "mode_kind",
    "omit_empty",
    "store_config",
    "store_network",
    "store_secret",
    "store_service",
]

SECOND = 1_000_000_000  # the Engine API's durations are nanoseconds


@dataclass(frozen=True)
class Quirk:
    """One thing the Engine does to a spec between the request and the stored object."""

    name: str
    does: str
    source: str  # the moby/swarmkit file (or the observation) it comes from


QUIRKS: tuple[Quirk, ...] = (
    Quirk("omit-empty", "false, \"\", empty lists and empty maps are not stored, nor the zero of a "
          "number that is not a pointer (policy Delay/Monitor, health check timings and retries, "
          "resource amounts, MaxReplicas, PublishedPort); empty structs and pointer zeros stay",
          "moby api/types/swarm/*.go: `json:\",omitempty\"` on every optional field"),
    Quirk("annotation-labels", "a service's, config's or secret's Spec.Labels is always returned ({} "
          "when none were sent); a network's Labels is null when none were sent",
          "moby api/types/swarm/common.go: Annotations.Labels has no omitempty"),
    Quirk("task-server-fields", "TaskTemplate gains ForceUpdate 0 and Runtime \"container\"",
          "moby daemon/cluster/convert/service.go: ServiceSpecToGRPC/ServiceFromGRPC"),
    Quirk("container-isolation", "ContainerSpec gains Isolation \"default\" when none is sent; "
          "\"process\" or \"hyperv\" is stored as sent (Linux tasks then fail to start)",
          "moby daemon/cluster/convert/container.go: containerToGRPC"),
    Quirk("endpoint-mode-vip", "an EndpointSpec without Mode is stored with Mode \"vip\"",
          "moby daemon/cluster/convert/service.go: ServiceSpecToGRPC (ResolutionModeVirtualIP)"),
    Quirk("port-defaults", "a published port without Protocol or PublishMode is stored with \"tcp\" "
          "and \"ingress\" (the zero values of swarmkit's enums)",
          "moby daemon/cluster/convert/service.go: endpointSpecToGRPC/endpointSpecFromGRPC"),
    Quirk("policy-enums", "an update or rollback policy that is sent is stored with FailureAction "
          "\"pause\" and Order \"stop-first\" when they are empty, and Parallelism and "
          "MaxFailureRatio always written (0 when not sent)",
          "moby daemon/cluster/convert/service.go: updateConfigToGRPC/updateConfigFromGRPC"),
    Quirk("network-target-ids", "network attachments name a network; the engine stores its ID",
          "moby daemon/cluster/services.go: CreateService resolves Networks[].Target"),
    Quirk("reference-ids", "config and secret references need their ConfigID/SecretID (without one: "
          "400 \"malformed config reference\"; an unknown one: 400 \"config not found: <name>\") "
          "and are stored with it", "moby api/types/swarm/container.go: ConfigReference, SecretReference; "
          "swarmkit manager/controlapi/service.go: validateSecretRefsSpec, checkSecretExistence"),
    Quirk("overlay-vxlan-option", "an overlay network gains the option "
          "com.docker.network.driver.overlay.vxlanid_list (one VXLAN id per network, from 4097)",
          "moby libnetwork/drivers/overlay/ovmanager"),
    Quirk("ipam-default-pool", "a network without IPAM gets the default driver and a /24 from the "
          "default pool, with its first address as gateway", "swarmkit manager/allocator/cnmallocator"),
    Quirk("ipam-gateway-filled", "an IPAM pool given without a gateway is stored with the subnet's "
          "first address as gateway", "swarmkit manager/allocator/cnmallocator/networkallocator.go"),
    Quirk("secret-data-hidden", "a secret's Data is never returned", "moby api/types/swarm/secret.go"),
    Quirk("data-update-compared", "a config or secret update that sends Data other than the stored data is "
          "refused (only the labels can change), a secret's too although its Data is never returned",
          "swarmkit manager/controlapi/secret.go UpdateSecret, config.go UpdateConfig"),
    Quirk("policy-defaults", "update/rollback/restart policies equal to swarmkit's defaults are the "
          "same as none (the docker CLI writes them out in full)", "swarmkit api/defaults/service.go"),
    Quirk("stop-grace-default", "a stop grace period of 10 s is the default (the CLI writes it out)",
          "swarmkit api/defaults/service.go"),
    Quirk("unordered-lists", "mounts, env, configs, secrets, capabilities, ulimits, groups, DNS "
          "options, generic resources, networks, ports and constraints carry no order; the docker CLI re-sorts them on "
          "update (nameservers and search domains too, but their order matters to the resolver, so "
          "it is kept)", "docker/cli cli/command/service/update.go"),
    Quirk("runtime-as-sent", "ulimits (in the order sent, zeros kept), sysctls, init (false kept), "
          "stop signal (its spelling kept: USR1 is not made SIGUSR1), extra hosts (not checked), DNS "
          "settings (nameservers not checked) and groups are stored as sent, accepted at create "
          "whatever they hold: a bad one fails each task when it starts (seen on Engine 28)",
          "moby daemon/cluster/convert/container.go: containerToGRPC/containerSpecFromGRPC"),
    Quirk("task-settings-as-sent", "a log driver and its options, generic resources (in the order "
          "sent, named ones too, which no task is ever scheduled with), a pids limit and tmpfs options "
          "(the mode as a plain number: 1777 octal is 1023; an empty TmpfsOptions kept) are stored as "
          "sent, and an unknown log driver or option is accepted at create (seen on Engine 28)",
          "moby daemon/cluster/convert/service.go, container.go; swarmkit manager/controlapi/service.go "
          "validateResources (drops genericresource.ValidateTask's error)"),
    Quirk("job-defaults", "a ReplicatedJob without MaxConcurrent is stored with 1, without "
          "TotalCompletions with MaxConcurrent's value; a GlobalJob is stored as {}",
          "moby daemon/cluster/convert/service.go: ServiceSpecToGRPC (ReplicatedJob)"),
    Quirk("mode-kind-fixed", "an update may not change the kind of a service's mode (replicated, "
          "global, replicated-job, global-job): refused with \"service mode change is not allowed\"",
          "swarmkit manager/controlapi/service.go UpdateService (errModeChangeNotAllowed)"),
    Quirk("empty-privileges", "an empty Privileges (docker stack deploy always sends one) is stored "
          "with CredentialSpec and SELinuxContext null (and NoNewPrivileges false from API 1.44 on)",
          "moby api/types/swarm/container.go: Privileges has no omitempty on those fields"),
)  # fmt: skip

# Added by the engine to every task template and container spec: carried over on update (a task
# template that differs only in these would restart every task) and never part of an essence.
TASK_SERVER_FIELDS: Mapping[str, Any] = {"ForceUpdate": 0, "Runtime": "container"}
CONTAINER_SERVER_FIELDS: Mapping[str, Any] = {"Isolation": "default"}
DEFAULT_ENDPOINT_MODE = "vip"
VXLAN_OPTION = "com.docker.network.driver.overlay.vxlanid_list"

# swarmkit api/defaults/service.go
POLICY_DEFAULTS: Mapping[str, Any] = {
    "Parallelism": 1,
    "Delay": 0,
    "FailureAction": "pause",
    "Monitor": 5 * SECOND,
    "MaxFailureRatio": 0,
    "Order": "stop-first",
}
RESTART_DEFAULTS: Mapping[str, Any] = {"Condition": "any", "Delay": 5 * SECOND, "MaxAttempts": 0, "Window": 0}
STOP_GRACE_DEFAULT = 10 * SECOND

# ContainerSpec lists whose order means nothing, with the key they are compared by.
UNORDERED_CONTAINER_LISTS: Mapping[str, Callable[[Any], Any]] = {
    "Mounts": lambda m: m.get("Target", ""),
    "Configs": lambda c: c.get("File", {}).get("Name", ""),
    "Secrets": lambda c: c.get("File", {}).get("Name", ""),
    "Env": str,
    "CapabilityAdd": str,
    "CapabilityDrop": str,
    "Ulimits": lambda u: u.get("Name", ""),
    "Groups": str,
}


# Fields that are Go maps (dropped when empty); every other object is a struct pointer, which
# omitempty keeps even when empty (``Mode: {"Global": {}}`` stays).
MAP_FIELDS = frozenset({"Labels", "Options", "DriverOpts", "Sysctls", "Annotations", "Ulimits"})

# Numbers that are plain (not pointer) fields with omitempty, by the struct (or list) holding them:
# their zero is not stored. Pointer fields (Replicas, StopGracePeriod, RestartPolicy's) and fields
# without omitempty (Parallelism, MaxFailureRatio, ForceUpdate) keep their zero.
ZERO_OMITTED: Mapping[str, frozenset[str]] = {
    "UpdateConfig": frozenset({"Delay", "Monitor"}),
    "RollbackConfig": frozenset({"Delay", "Monitor"}),
    "Healthcheck": frozenset({"Interval", "Timeout", "Retries", "StartPeriod", "StartInterval"}),
    "Limits": frozenset({"NanoCPUs", "MemoryBytes", "Pids"}),
    "Reservations": frozenset({"NanoCPUs", "MemoryBytes"}),
    "Placement": frozenset({"MaxReplicas"}),
    "Ports": frozenset({"PublishedPort"}),
    "TmpfsOptions": frozenset({"SizeBytes", "Mode"}),
}

# What a sent update/rollback policy is stored with (quirk ``policy-enums``): swarmkit's enums
# have these as their zero values, and the two numbers are written without omitempty.
POLICY_STORED_ZEROES: Mapping[str, Any] = {"Parallelism": 0, "FailureAction": "pause", "MaxFailureRatio": 0,
                                           "Order": "stop-first"}  # fmt: skip
PORT_DEFAULTS: Mapping[str, Any] = {"Protocol": "tcp", "PublishMode": "ingress"}


def omit_empty(value: Any, key: str = "") -> Any:
    """What Go's ``omitempty`` leaves of a value, recursively (quirk ``omit-empty``): no None,
    ``false``, ``""``, empty lists, empty maps (``MAP_FIELDS``) or zeros of ``ZERO_OMITTED``
    fields; other zeros and empty structs are kept. Values inside maps are kept as they are."""
    if isinstance(value, dict):
        if key in MAP_FIELDS:
            return dict(value)
        out = {k: omit_empty(v, k) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _omitted(key, k, v)}
    if isinstance(value, list):
        return [omit_empty(v, key) for v in value]  # items are judged as fields of the list's holder
    return value


# Booleans that are pointers (``*bool``): ``false`` is stored, unlike every other boolean.
POINTER_BOOLS = frozenset({"Init"})
# What an empty Privileges is stored with (quirk ``empty-privileges``): fields without omitempty.
PRIVILEGES_STORED: Mapping[str, Any] = {"CredentialSpec": None, "SELinuxContext": None, "NoNewPrivileges": False}


def _omitted(parent: str, key: str, value: Any) -> bool:
    if value is False and key in POINTER_BOOLS:
        return False
    if value is None or value is False or value == "" or value == []:
        return True
    if value == 0 and not isinstance(value, bool) and key in ZERO_OMITTED.get(parent, ()):
        return True
    return value == {} and key in MAP_FIELDS


# -- the forward direction: what the engine stores (the in-memory swarm's storage) --------------------


def store_service(spec: Mapping[str, Any], network_ids: Mapping[str, str]) -> dict[str, Any]:
    """A ServiceSpec as sent → as the engine stores it. ``network_ids`` maps network names (and IDs)
    to IDs; an unknown target raises ``KeyError`` with the name."""
    stored: dict[str, Any] = omit_empty(copy.deepcopy(dict(spec)))
    stored["Labels"] = dict(spec.get("Labels") or {})  # quirk annotation-labels
    task = stored.setdefault("TaskTemplate", {})
    for key, value in TASK_SERVER_FIELDS.items():
        task.setdefault(key, value)
    container = task.setdefault("ContainerSpec", {})
    for key, value in CONTAINER_SERVER_FIELDS.items():
        container.setdefault(key, value)
    if "Privileges" in container:
        container["Privileges"] = {**PRIVILEGES_STORED, **container["Privileges"]}
    for attachment in task.get("Networks") or []:
        attachment["Target"] = network_ids[attachment["Target"]]
    if "EndpointSpec" in spec:
        endpoint = stored.setdefault("EndpointSpec", {})
        endpoint.setdefault("Mode", DEFAULT_ENDPOINT_MODE)
        for port in endpoint.get("Ports") or []:
            for key, value in PORT_DEFAULTS.items():
                port[key] = port.get(key) or value
    for policy in ("UpdateConfig", "RollbackConfig"):
        if policy in spec and spec[policy] is not None:
            sent = stored.setdefault(policy, {})
            for key, value in POLICY_STORED_ZEROES.items():
                if not sent.get(key):
                    sent[key] = value
    stored.setdefault("Mode", {"Replicated": {"Replicas": 1}})
    if "ReplicatedJob" in stored["Mode"]:
        stored["Mode"]["ReplicatedJob"] = job_defaults(spec["Mode"]["ReplicatedJob"])
    return _ordered(stored, ("Name", "Labels", "TaskTemplate", "Mode", "UpdateConfig", "RollbackConfig"))


def mode_kind(spec: Mapping[str, Any]) -> str:
    """The kind of a ServiceSpec's mode (``Replicated``, ``Global``, ``ReplicatedJob``,
    ``GlobalJob``), which no update can change (quirk ``mode-kind-fixed``)."""
    return str(next(iter(spec.get("Mode") or {"Replicated": {}})))


def is_job(spec: Mapping[str, Any]) -> bool:
    """Whether a ServiceSpec's mode is a job's (``ReplicatedJob``, ``GlobalJob``): its tasks run to
    completion, and any update runs it again (quirk ``job-defaults``; swarmkit UpdateService)."""
    return mode_kind(spec) in ("ReplicatedJob", "GlobalJob")


def job_defaults(job: Mapping[str, Any] | None) -> dict[str, Any]:
    """A ReplicatedJob as sent → as stored (quirk ``job-defaults``)."""
    at_once = (job or {}).get("MaxConcurrent")
    at_once = 1 if at_once is None else at_once
    total = (job or {}).get("TotalCompletions")
    return {"MaxConcurrent": at_once, "TotalCompletions": at_once if total is None else total}


def _ordered(value: dict[str, Any], first: tuple[str, ...]) -> dict[str, Any]:
    """The engine's field order (cosmetic: JSON objects are unordered, but diffs read better)."""
    return {**{k: value[k] for k in first if k in value}, **value}


def store_network(spec: Mapping[str, Any], default_subnet: str, vxlan_id: int = 4097) -> dict[str, Any]:
    """A network create body → the network as inspected (``Id`` and ``Created`` are the caller's).
    ``vxlan_id``: the engine gives each overlay network its own (quirk ``overlay-vxlan-option``)."""
    ipam = copy.deepcopy(dict(spec.get("IPAM") or {}))
    pools = ipam.get("Config") or [{"Subnet": default_subnet}]
    for pool in pools:
        if not pool.get("Gateway"):
            first = next(ipaddress.ip_network(pool["Subnet"], strict=False).hosts())
            pool["Gateway"] = str(first)
    options = dict(spec.get("Options") or {})
    if spec.get("Driver") == "overlay":
        options.setdefault(VXLAN_OPTION, str(vxlan_id))
    return {
        "Name": spec["Name"],
        "Scope": spec.get("Scope") or "swarm",
        "Driver": spec.get("Driver") or "overlay",
        "EnableIPv6": bool(spec.get("EnableIPv6")),
        "IPAM": {"Driver": ipam.get("Driver") or "default", "Options": ipam.get("Options"), "Config": pools},
        "Internal": bool(spec.get("Internal")),
        "Attachable": bool(spec.get("Attachable")),
        "Ingress": False,
        "ConfigFrom": {"Network": ""},
        "ConfigOnly": False,
        "Containers": None,
        "Options": options,
        "Labels": dict(spec.get("Labels") or {}) or None,  # quirk annotation-labels: null when none
    }


def store_config(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A config create body → its stored ``Spec`` (the data is kept and returned)."""
    stored: dict[str, Any] = omit_empty(copy.deepcopy(dict(spec)))
    stored["Labels"] = dict(spec.get("Labels") or {})  # quirk annotation-labels
    return _ordered(stored, ("Name", "Labels"))


def store_secret(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A secret create body → its stored ``Spec`` as returned: without ``Data``."""
    stored = store_config(spec)
    stored.pop("Data", None)
    return stored
