"""Engine API objects to their *essence*: only the fields the reconciler manages, normalised.

The same function reduces both sides — the spec rendered from a manifest and the object the engine
returns — so a freshly applied object compares equal forever after. What the engine adds, drops or
re-sorts is ``stored_form``'s knowledge (one entry per quirk); this module applies it: dropping the
server-side fields, filling the defaults, treating absent, empty and ``false`` alike, mapping network
IDs back to names, and reading a digest-pinned image as the image that was asked for. Called by
``desired`` and the planner (for the observed side).
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Mapping
from typing import Any

from reconciler.core.hashing import short_hash
from reconciler.core.labels import APPLIED_HASH, REQUESTED_IMAGE
from reconciler.manifests.kinds.service_runtime import canonical_signal
from reconciler.state.stored_form import (
    CONTAINER_SERVER_FIELDS,
    DEFAULT_ENDPOINT_MODE,
    POLICY_DEFAULTS,
    RESTART_DEFAULTS,
    STOP_GRACE_DEFAULT,
    UNORDERED_CONTAINER_LISTS,
    job_defaults,
    omit_empty,
)

__all__ = ["config_essence", "essence_hash", "network_essence", "service_essence"]


def essence_hash(essence: Any) -> str:
    return short_hash(essence, length=16)


def _compact(value: Any) -> Any:
    """Absent, None, empty and ``false`` are alike in an essence (a wider rule than the engine's
    ``omitempty``, so the CLI's empty structs are no difference either). Zero is kept: 0 replicas is
    not 1."""
    if isinstance(value, dict):
        out = {k: _compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _empty(v)}
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _empty(value: Any) -> bool:
    return value is None or value is False or (isinstance(value, dict | list) and not value)


def _mode(mode: Mapping[str, Any] | None) -> dict[str, Any]:
    if mode and "Global" in mode:
        return {"Global": True}
    if mode and "GlobalJob" in mode:
        return {"GlobalJob": True}
    if mode and "ReplicatedJob" in mode:
        return {"ReplicatedJob": job_defaults(mode["ReplicatedJob"])}
    replicas = ((mode or {}).get("Replicated") or {}).get("Replicas", 1)
    return {"Replicas": replicas}


def _labels(labels: Mapping[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in sorted((labels or {}).items()) if k != APPLIED_HASH}


def network_essence(network: Mapping[str, Any], with_ipam: bool) -> dict[str, Any]:
    """``with_ipam``: the manifest sets IPAM; otherwise the engine's own choice of subnet is not ours."""
    options = network.get("Options") or {}
    essence: dict[str, Any] = {
        "Driver": network.get("Driver"),
        "Attachable": bool(network.get("Attachable")),
        "Internal": bool(network.get("Internal")),
        "Encrypted": "encrypted" in options,
        "Labels": _labels(network.get("Labels")),
    }
    if with_ipam:
        pools = (network.get("IPAM") or {}).get("Config") or []
        essence["IPAM"] = [_pool(pool) for pool in pools]
    return essence


def _pool(pool: Mapping[str, Any]) -> dict[str, Any]:
    """An IPAM pool; no gateway means the subnet's first address (quirk ``ipam-gateway-filled``)."""
    out = {key: pool[key] for key in ("Subnet", "Gateway", "IPRange") if pool.get(key)}
    if "Subnet" in out and "Gateway" not in out:
        out["Gateway"] = str(next(ipaddress.ip_network(out["Subnet"], strict=False).hosts()))
    return out


def config_essence(config: Mapping[str, Any]) -> dict[str, Any]:
    """Configs and secrets: the content is in the (hashed) name; labels and templating remain."""
    spec = config.get("Spec", config)
    essence: dict[str, Any] = _compact(
        {
            "Name": spec.get("Name"),
            "Labels": _labels(spec.get("Labels")),
            "Templating": (spec.get("Templating") or {}).get("Name"),
        }
    )
    return essence


def service_essence(spec: Mapping[str, Any], network_names: Mapping[str, str]) -> dict[str, Any]:
    """A ServiceSpec to its essence. ``network_names`` maps network IDs to names (the engine
    stores IDs in ``TaskTemplate.Networks[].Target``; manifests use names)."""
    # What the engine would not store does not count either: zeros it omits (a health check's retries
    # 0 or interval 0s, a limit of 0), false, empty lists (quirk omit-empty).
    # omit_empty builds new dicts and lists at every level (maps' values are strings): no deep copy
    # is needed before the edits below, and none is made (it was most of a plan's time, issue 18).
    spec = omit_empty(dict(spec))
    labels = _labels(spec.get("Labels"))
    task = spec.get("TaskTemplate") or {}
    container = dict(task.get("ContainerSpec") or {})
    for server_side, default in CONTAINER_SERVER_FIELDS.items():
        if container.get(server_side, default) == default:
            container.pop(server_side, None)
    if container.get("StopSignal"):
        container["StopSignal"] = _signal(str(container["StopSignal"]))
    dns = container.get("DNSConfig")
    if dns:
        _sort(dns, "Options", str)  # quirk unordered-lists; nameservers and search domains keep their order
    image = str(container.get("Image", ""))
    requested = labels.get(REQUESTED_IMAGE)
    if requested and "@sha256:" in image and image.split("@", 1)[0] == requested:
        container["Image"] = requested
    for reference in ("Configs", "Secrets"):
        for item in container.get(reference) or []:
            item.pop(reference[:-1] + "ID", None)  # IDs are resolved at apply time; names identify
    for mount in container.get("Mounts") or []:
        mount.setdefault("ReadOnly", False)
    if container.get("StopGracePeriod") == STOP_GRACE_DEFAULT:
        del container["StopGracePeriod"]
    for list_name, by in UNORDERED_CONTAINER_LISTS.items():
        _sort(container, list_name, by)
    networks = sorted(
        (
            {
                "Target": network_names.get(n.get("Target", ""), n.get("Target")),
                "Aliases": sorted(n.get("Aliases") or []),
            }
            for n in task.get("Networks") or []
        ),
        key=lambda n: str(n["Target"]),
    )
    endpoint = dict(spec.get("EndpointSpec") or {})
    if endpoint.get("Mode") == DEFAULT_ENDPOINT_MODE:
        endpoint.pop("Mode")
    _sort(endpoint, "Ports", lambda p: (p.get("TargetPort", 0), p.get("Protocol", "tcp"), p.get("PublishedPort", 0)))
    placement = dict(task.get("Placement") or {})
    _sort(placement, "Constraints", lambda c: c.replace(" ", ""))
    essence = {
        "Name": spec.get("Name"),
        "Labels": labels,
        "Mode": _mode(spec.get("Mode")),
        "ContainerSpec": container,
        "Networks": networks,
        "Resources": _resources(task.get("Resources")),
        "LogDriver": task.get("LogDriver"),
        "RestartPolicy": _defaulted(task.get("RestartPolicy"), RESTART_DEFAULTS),
        "Placement": placement,
        "UpdateConfig": _policy(spec.get("UpdateConfig")),
        "RollbackConfig": _policy(spec.get("RollbackConfig")),
        "EndpointSpec": endpoint,
    }
    compacted: dict[str, Any] = _compact(essence)
    return compacted


def _resources(resources: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Generic resources carry no order (quirk ``unordered-lists``)."""
    if not resources:
        return None
    out = {key: dict(value) if isinstance(value, dict) else value for key, value in resources.items()}
    for amounts in out.values():
        if isinstance(amounts, dict):
            _sort(amounts, "GenericResources", lambda r: json.dumps(r, sort_keys=True))
    return out


def _signal(signal: str) -> str:
    """``USR1``, ``sigusr1`` and ``SIGUSR1`` stop a task alike (quirk ``runtime-as-sent``)."""
    try:
        return canonical_signal(signal)
    except ValueError:
        return signal  # a value set by hand that no manifest can hold: compared as it is


def _sort(holder: dict[str, Any], key: str, by: Any) -> None:
    if holder.get(key):
        holder[key] = sorted(holder[key], key=by)


def _defaulted(values: Mapping[str, Any] | None, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
    """Fill in the engine's defaults; a policy equal to the defaults is the same as none."""
    if values is None:
        return None
    filled = {**defaults, **{k: v for k, v in values.items() if v is not None}}
    return None if filled == dict(defaults) else filled


def _policy(policy: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    # Swarmkit reads an unset monitor period as its default.
    return _defaulted({**policy, "Monitor": policy.get("Monitor") or POLICY_DEFAULTS["Monitor"]}, POLICY_DEFAULTS)
