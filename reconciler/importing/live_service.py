"""A live Swarm ``ServiceSpec`` to the ``spec`` of a ``Service`` manifest: the inverse of
``reconciler.render.service_spec``.

Every field read is taken out of a copy of the spec; what is left at the end (``ServiceImport.left``)
is what the Service kind cannot express, named by its Engine path (``TaskTemplate.LogDriver``), so the
caller reports it instead of dropping it. The Engine's own additions (``stored_form``: server fields,
default enums) are not left-overs. Sources: moby ``api/types/swarm/service.go``, ``task.go``,
``container.go`` for the field names; docker-cli ``cli/compose/convert/service.go`` for what
``docker stack deploy`` writes (``com.docker.stack.image`` holds the image as the compose file
named it; the service's ``Image`` is pinned to a digest).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError

from reconciler import LABEL_PREFIX
from reconciler.core.labels import REQUESTED_IMAGE
from reconciler.manifests.kinds.service import NETWORK_ALIAS
from reconciler.manifests.kinds.service_task import Logging
from reconciler.state.stored_form import (
    CONTAINER_SERVER_FIELDS,
    POLICY_DEFAULTS,
    RESTART_DEFAULTS,
    STOP_GRACE_DEFAULT,
    TASK_SERVER_FIELDS,
    job_defaults,
    omit_empty,
)

__all__ = ["ServiceImport", "duration", "memory", "service_body"]

_TRAEFIK = "traefik."
STACK_IMAGE = "com.docker.stack.image"  # docker-cli cli/compose/convert LabelImage
_SECOND = 1_000_000_000
_ALIAS_MAX = 253  # manifests/kinds/service.py NetworkAlias


@dataclass
class ServiceImport:
    """A service's manifest ``spec`` and what it refers to (by Swarm name), plus the left-overs."""

    spec: dict[str, Any]
    networks: list[str] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)  # the live mounts of type volume
    configs: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    traefik_labels: dict[str, str] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)  # Engine paths the kind cannot express


def duration(nanos: int) -> str:
    """Nanoseconds to the shortest exact Go duration: 30s, 1m30s is written 90s, 500ms."""
    for unit, size in (("h", 3600 * _SECOND), ("m", 60 * _SECOND), ("s", _SECOND), ("ms", 10**6), ("us", 10**3)):
        if nanos % size == 0:
            return f"{nanos // size}{unit}"
    return f"{nanos}ns"


def memory(size: int) -> str | int:
    """Bytes to ``512Mi`` when a binary unit divides it, else the byte count."""
    for unit, power in (("Ti", 4), ("Gi", 3), ("Mi", 2), ("Ki", 1)):
        if size and size % 1024**power == 0:
            return f"{size // 1024**power}{unit}"
    return size


def _cpus(nanos: int) -> float | str:
    exact = Decimal(nanos) / 10**9
    as_float = float(exact)
    return as_float if Decimal(str(as_float)) == exact else str(exact)


def service_body(spec: dict[str, Any], network_names: dict[str, str]) -> ServiceImport:
    """``spec``: the live ``Spec``; ``network_names``: network ID to name."""
    rest = copy.deepcopy(spec)
    rest.pop("Name", None)
    out: dict[str, Any] = {}
    result = ServiceImport(out)
    labels = dict(rest.pop("Labels", None) or {})
    task = rest.pop("TaskTemplate", None) or {}
    container = task.pop("ContainerSpec", None) or {}
    _image(container, labels, out)
    _container(container, out, result)
    _task(task, out, result, network_names)
    _mode(rest, out)
    for key, policy in (("UpdateConfig", "updateConfig"), ("RollbackConfig", "rollbackConfig")):
        _policy(rest.pop(key, None), policy, out)
    _endpoint(rest.pop("EndpointSpec", None) or {}, out, result)
    result.traefik_labels = {k: v for k, v in labels.items() if k.lower().startswith(_TRAEFIK)}
    kept = {
        k: v for k, v in sorted(labels.items()) if not k.startswith(LABEL_PREFIX) and k not in result.traefik_labels
    }
    if kept:
        out["labels"] = kept
    for key, value in TASK_SERVER_FIELDS.items():
        if task.get(key) == value:
            task.pop(key)
    for key, value in CONTAINER_SERVER_FIELDS.items():
        if container.get(key) == value:
            container.pop(key)
    leftovers = {**rest, "TaskTemplate": {**task, "ContainerSpec": container}}
    result.left += _paths(omit_empty(leftovers))
    return result


def _image(container: dict[str, Any], labels: dict[str, str], out: dict[str, Any]) -> None:
    """The image asked for: the reconciler's or docker stack's label when the live image is that
    one pinned to a digest; otherwise the live reference (digest included), which renders the same."""
    image = str(container.pop("Image", ""))
    for key in (REQUESTED_IMAGE, STACK_IMAGE):
        asked = labels.get(key)
        if asked and (image == asked or image.split("@", 1)[0] == asked):
            out["image"] = asked
            return
    out["image"] = image


def _container(container: dict[str, Any], out: dict[str, Any], result: ServiceImport) -> None:
    simple = (("Command", "command"), ("Args", "args"), ("User", "user"), ("Dir", "workdir"), ("Hostname", "hostname"))
    for key, name in simple:
        value = container.pop(key, None)
        if value:
            out[name] = value
    env: dict[str, str] = {}
    unset: list[str] = []
    for item in container.pop("Env", None) or []:
        key, sep, value = str(item).partition("=")
        if sep:
            env[key] = value
        else:
            unset.append(item)  # `FOO` alone passes the node's value through: no manifest form
    if env:
        out["env"] = dict(sorted(env.items()))
    if unset:
        container["Env"] = unset
    container_labels = dict(container.pop("Labels", None) or {})
    traefik = {k: v for k, v in container_labels.items() if k.lower().startswith(_TRAEFIK)}
    if traefik:
        container["Labels"] = traefik  # Traefik reads service labels in swarm mode: not expressible here
    if plain := {k: v for k, v in sorted(container_labels.items()) if k not in traefik}:
        out["containerLabels"] = plain
    for key, name in (("CapabilityAdd", "capAdd"), ("CapabilityDrop", "capDrop")):
        if caps := container.pop(key, None):
            out[name] = list(caps)
    grace = container.pop("StopGracePeriod", None)
    if grace is not None and grace != STOP_GRACE_DEFAULT:
        out["stopGracePeriod"] = duration(grace)
    if health := container.pop("Healthcheck", None):
        out["healthcheck"] = _healthcheck(health, container)
    mounts = [m for m in (_mount(m, result) for m in container.pop("Mounts", None) or []) if m is not None]
    if mounts:
        out["mounts"] = mounts
    for key, name, kind in (("Configs", "configs", "Config"), ("Secrets", "secrets", "Secret")):
        refs = [_file_ref(ref, kind, result) for ref in container.pop(key, None) or []]
        if refs:
            out[name] = refs
    _runtime(container, out)


def _runtime(container: dict[str, Any], out: dict[str, Any]) -> None:
    """The runtime settings (``kinds.service_runtime``), the inverse of ``service_spec._runtime``."""
    init = container.pop("Init", None)
    if init:
        out["init"] = True  # the docker CLI writes Init: false, which is the default
    if ulimits := container.pop("Ulimits", None):
        out["ulimits"] = {u["Name"]: {"soft": u.get("Soft", 0), "hard": u.get("Hard", 0)} for u in ulimits}
    if sysctls := container.pop("Sysctls", None):
        out["sysctls"] = dict(sorted(sysctls.items()))
    if signal := container.pop("StopSignal", None):
        out["stopSignal"] = signal
    if container.get("Isolation") not in (None, "default"):
        out["isolation"] = container.pop("Isolation")
    if container.pop("ReadOnly", None):
        out["readOnly"] = True
    for key, name in (("TTY", "tty"), ("OpenStdin", "stdinOpen")):  # compose's tty and stdin_open
        if container.pop(key, None):
            out[name] = True
    hosts, odd = [], []
    for entry in container.pop("Hosts", None) or []:
        parts = str(entry).split()
        if len(parts) == 2:  # Swarm's "address host" (docker-cli convertExtraHosts)
            address, host = parts
            hosts.append(f"{host}={address}" if ":" in address else f"{host}:{address}")
        else:
            odd.append(entry)  # several names on one line, or the older "host:address": no manifest form
    if hosts:
        out["extraHosts"] = hosts
    if odd:
        container["Hosts"] = odd
    dns = container.pop("DNSConfig", None) or {}
    settings = {name: list(dns.pop(key)) for key, name in _DNS if dns.get(key)}
    if settings:
        out["dns"] = settings
    if groups := container.pop("Groups", None):
        out["groupAdd"] = list(groups)


_DNS = (("Nameservers", "nameservers"), ("Search", "search"), ("Options", "options"))


def _healthcheck(health: dict[str, Any], container: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"test": list(health.pop("Test", None) or [])}
    for key, name in (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "startPeriod")):
        if value := health.pop(key, None):
            out[name] = duration(value)
    if retries := health.pop("Retries", None):
        out["retries"] = retries
    if health:
        container["Healthcheck"] = health  # e.g. StartInterval: no manifest field yet
    return out


def _mount(mount: dict[str, Any], result: ServiceImport) -> dict[str, Any] | None:
    kind = mount.get("Type", "volume")
    out: dict[str, Any] = {}
    if kind == "bind":
        out["bind"] = mount.get("Source", "")
    elif kind == "tmpfs":
        options = omit_empty(dict(mount.pop("TmpfsOptions", None) or {}))
        tmpfs: dict[str, Any] = {}
        if options.get("SizeBytes"):
            tmpfs["size"] = memory(options.pop("SizeBytes"))
        if options.get("Mode"):
            tmpfs["mode"] = f"{options.pop('Mode'):o}"
        out["tmpfs"] = tmpfs or True
        if options:  # e.g. Options (mount flags): no manifest field
            mount["TmpfsOptions"] = options
    elif kind == "volume" and mount.get("Source"):
        out["volume"] = mount["Source"]
        result.volumes.append(copy.deepcopy(mount))
    elif kind == "volume":  # no Source: an anonymous volume (compose's `- /data`)
        out["anonymous"] = True
    else:  # npipe, cluster: no manifest form
        result.left.append(f"TaskTemplate.ContainerSpec.Mounts[{mount.get('Target')}] (type {kind})")
        return None
    out["target"] = mount.get("Target", "")
    if mount.get("ReadOnly"):
        out["readOnly"] = True
    handled = {"Type", "Source", "Target", "ReadOnly", "VolumeOptions"}
    extra = omit_empty({k: v for k, v in mount.items() if k not in handled})
    options = omit_empty(dict(mount.get("VolumeOptions") or {}))
    options.pop("Labels", None)
    options.pop("DriverConfig", None)  # both belong to the Volume manifest
    if options:
        extra["VolumeOptions"] = options
    result.left += [f"TaskTemplate.ContainerSpec.Mounts[{out['target']}].{p}" for p in _paths(extra)]
    return out


def _file_ref(ref: dict[str, Any], kind: str, result: ServiceImport) -> dict[str, Any]:
    name = str(ref.get(f"{kind}Name", ""))
    (result.configs if kind == "Config" else result.secrets).append(name)
    file = ref.get("File") or {}
    out: dict[str, Any] = {"name": name}
    default_target = f"/{name}" if kind == "Config" else name
    if file.get("Name") and file["Name"] != default_target:
        out["target"] = file["Name"]
    for key in ("UID", "GID"):
        if file.get(key, "0") != "0":
            out[key.lower()] = file[key]
    mode = file.get("Mode", 0o444)
    if mode != 0o444:
        out["mode"] = f"0{mode:o}"
    if not file:  # a runtime reference (a credential spec): no manifest form
        result.left.append(f"TaskTemplate.ContainerSpec.{kind}s[{name}].Runtime")
    return out


def _task(task: dict[str, Any], out: dict[str, Any], result: ServiceImport, network_names: dict[str, str]) -> None:
    networks: list[Any] = []
    for attachment in task.pop("Networks", None) or []:
        target = str(attachment.get("Target", ""))
        name = network_names.get(target, target)
        result.networks.append(name)
        aliases = [
            a for a in attachment.get("Aliases") or [] if NETWORK_ALIAS.fullmatch(str(a)) and len(str(a)) <= _ALIAS_MAX
        ]
        # An alias the kind refuses (Swarm takes any string: a space, a control character): a left-over.
        result.left += [
            f"TaskTemplate.Networks[{name}].Aliases[{a}]" for a in attachment.get("Aliases") or [] if a not in aliases
        ]
        networks.append({"name": name, "aliases": aliases} if aliases else name)
        if attachment.get("DriverOpts"):
            result.left.append(f"TaskTemplate.Networks[{name}].DriverOpts")
    if networks:
        out["networks"] = networks
    if resources := task.pop("Resources", None):
        amounts = {}
        for key, name in (("Limits", "limits"), ("Reservations", "reservations")):
            held = dict(resources.pop(key, None) or {})
            values: dict[str, Any] = {}
            if held.get("NanoCPUs"):
                values["cpus"] = _cpus(held.pop("NanoCPUs"))
            if held.get("MemoryBytes"):
                values["memory"] = memory(held.pop("MemoryBytes"))
            if key == "Limits" and held.get("Pids"):
                values["pids"] = held.pop("Pids")
            generic = held.pop("GenericResources", None) or []
            discrete = [(r.get("DiscreteResourceSpec") or {}) for r in generic]
            if key == "Reservations" and generic and all(d.get("Kind") for d in discrete):
                values["genericResources"] = [{"kind": d["Kind"], "value": d.get("Value", 0)} for d in discrete]
            elif generic:  # named resources (NamedResourceSpec): no manifest form
                held["GenericResources"] = generic
            if values:
                amounts[name] = values
            if omit_empty(held):
                resources[key] = held
        if amounts:
            out["resources"] = amounts
        if omit_empty(resources):
            task["Resources"] = resources
    if log := task.pop("LogDriver", None):
        logging = {"driver": log.get("Name", ""), **({"options": dict(log["Options"])} if log.get("Options") else {})}
        try:
            Logging.model_validate(logging)
            out["logging"] = logging
        except ValidationError:
            task["LogDriver"] = log  # a driver or option the Logging kind refuses: named as a left-over
    if restart := task.pop("RestartPolicy", None):
        filled = {**RESTART_DEFAULTS, **{k: v for k, v in restart.items() if v is not None}}
        if filled != dict(RESTART_DEFAULTS):
            policy: dict[str, Any] = {"condition": filled["Condition"]}
            for key, name in (("Delay", "delay"), ("Window", "window")):
                if filled[key] != RESTART_DEFAULTS[key]:
                    policy[name] = duration(filled[key])
            if filled["MaxAttempts"]:
                policy["maxAttempts"] = filled["MaxAttempts"]
            out["restartPolicy"] = policy
    if placement := task.pop("Placement", None):
        placed: dict[str, Any] = {}
        if constraints := placement.pop("Constraints", None):
            placed["constraints"] = list(constraints)
        preferences = placement.pop("Preferences", None) or []
        spreads = [(p.get("Spread") or {}).get("SpreadDescriptor") for p in preferences]
        if spreads and all(spreads):
            placed["preferences"] = [{"spread": s} for s in spreads]
        elif preferences:
            placement["Preferences"] = preferences
        if placement.get("MaxReplicas"):
            placed["maxReplicasPerNode"] = placement.pop("MaxReplicas")
        if platforms := placement.pop("Platforms", None):
            placed["platforms"] = [
                {name: p[key] for key, name in (("Architecture", "architecture"), ("OS", "os")) if p.get(key)}
                for p in platforms
            ]
        if placed:
            out["placement"] = placed
        if omit_empty(placement):
            task["Placement"] = placement


def _mode(rest: dict[str, Any], out: dict[str, Any]) -> None:
    mode = rest.pop("Mode", None) or {}
    if "Global" in mode:
        out["mode"] = "global"
        mode.pop("Global")
    elif "Replicated" in mode:
        out["replicas"] = (mode.pop("Replicated") or {}).get("Replicas", 1)
    elif "GlobalJob" in mode:
        out["mode"] = "global-job"
        mode.pop("GlobalJob")
    elif "ReplicatedJob" in mode:
        out["mode"] = "replicated-job"
        job = job_defaults(mode.pop("ReplicatedJob"))  # as stored: both are always there
        out["maxConcurrent"], out["totalCompletions"] = job["MaxConcurrent"], job["TotalCompletions"]
    if mode:
        rest["Mode"] = mode  # a mode this engine version adds that the Service kind does not know


def _policy(policy: dict[str, Any] | None, name: str, out: dict[str, Any]) -> None:
    if policy is None:
        return
    filled = {**POLICY_DEFAULTS, **{k: v for k, v in policy.items() if v is not None}}
    filled["Monitor"] = policy.get("Monitor") or POLICY_DEFAULTS["Monitor"]
    if filled == dict(POLICY_DEFAULTS):
        return
    values: dict[str, Any] = {"parallelism": filled["Parallelism"]}
    for key, field_name in (("Delay", "delay"), ("Monitor", "monitor")):
        if filled[key] != POLICY_DEFAULTS[key]:
            values[field_name] = duration(filled[key])
    for key, field_name in (("FailureAction", "failureAction"), ("Order", "order")):
        if filled[key] != POLICY_DEFAULTS[key]:
            values[field_name] = filled[key]
    if filled["MaxFailureRatio"]:
        values["maxFailureRatio"] = filled["MaxFailureRatio"]
    out[name] = values


def _endpoint(endpoint: dict[str, Any], out: dict[str, Any], result: ServiceImport) -> None:
    mode = endpoint.pop("Mode", "vip") or "vip"
    if mode != "vip":
        out["endpointMode"] = mode
    ports = []
    for port in endpoint.pop("Ports", None) or []:
        entry: dict[str, Any] = {"target": port.get("TargetPort")}
        if port.get("PublishedPort"):
            entry["published"] = port["PublishedPort"]
        if (port.get("Protocol") or "tcp") != "tcp":
            entry["protocol"] = port["Protocol"]
        if (port.get("PublishMode") or "ingress") != "ingress":
            entry["mode"] = port["PublishMode"]
        if port.get("Name"):
            result.left.append(f"EndpointSpec.Ports[{port.get('TargetPort')}].Name")
        ports.append(entry)
    if ports:
        out["ports"] = ports
    if omit_empty(endpoint):
        result.left += [f"EndpointSpec.{p}" for p in _paths(omit_empty(endpoint))]


# Named whole when left: maps of free keys, and structs no manifest field takes any part of.
_WHOLE = ("Labels", "Options", "Sysctls", "DriverOpts", "LogDriver", "Privileges", "CredentialSpec", "SELinuxContext")


def _paths(value: Any, prefix: str = "") -> list[str]:
    """Leaf paths of what is left: ``TaskTemplate.LogDriver``; maps of free keys are named whole."""
    if isinstance(value, dict) and value and prefix.rsplit(".", 1)[-1] not in _WHOLE:
        return [p for k, v in value.items() for p in _paths(v, f"{prefix}.{k}" if prefix else str(k))]
    return [prefix] if prefix and value not in (None, {}, []) else []
