"""A ``Service`` manifest (with the manifests it refers to) to an Engine API ``ServiceSpec``.

Names of volumes, configs and secrets are resolved to their hashed Swarm names; config and secret
IDs are not known offline, so references carry ``ConfigName``/``SecretName`` and the engine adds the
IDs when it applies. Routes that target the service add their Traefik labels to ``Spec.Labels``.
Called by the desired-state compiler and ``reconciler render``.
"""

from __future__ import annotations

from typing import Any

from reconciler.core.labels import DEFAULT_INSTANCE, REQUESTED_IMAGE, STACK_IMAGE, STACK_NAMESPACE, ownership_labels
from reconciler.manifests.kinds.config import Config, Secret
from reconciler.manifests.kinds.service import FileMount, Service, UpdatePolicy
from reconciler.manifests.kinds.service_runtime import RuntimeFields, swarm_host_entry
from reconciler.manifests.kinds.service_task import GenericResource, TmpfsOptions
from reconciler.manifests.kinds.volume import Volume
from reconciler.manifests.manifest_set import ManifestSet
from reconciler.manifests.units import parse_cpus, parse_duration, parse_memory
from reconciler.render.objects import config_name, volume_mount_options, volume_name
from reconciler.render.traefik import routes_labels

__all__ = ["service_spec"]


def service_spec(service: Service, manifests: ManifestSet, instance: str = DEFAULT_INSTANCE) -> dict[str, Any]:
    spec = service.spec
    routes = manifests.routes_by_service.get(service.swarm_name, [])
    middlewares = manifests.middlewares_by_name
    labels = {
        **spec.labels,
        **routes_labels(routes, middlewares, manifests.network_name),
        **ownership_labels("Service", service.name, instance, service.namespace),
        REQUESTED_IMAGE: spec.image,
        **({STACK_IMAGE: spec.image} if service.namespace else {}),  # docker-cli convert.Service
    }
    task: dict[str, Any] = {"ContainerSpec": _container(service, manifests, instance)}
    if spec.networks:
        task["Networks"] = [_network(n, service, manifests) for n in spec.networks]
    if spec.resources is not None:
        task["Resources"] = {
            key: _amounts(amounts)
            for key, amounts in (("Limits", spec.resources.limits), ("Reservations", spec.resources.reservations))
            if amounts is not None
        }
    if spec.logging is not None:
        task["LogDriver"] = {"Name": spec.logging.driver, "Options": dict(sorted(spec.logging.options.items()))}
    if spec.restart_policy is not None:
        rp = spec.restart_policy
        task["RestartPolicy"] = _drop_none(
            {
                "Condition": rp.condition,
                "Delay": _ns(rp.delay),
                "MaxAttempts": rp.max_attempts,
                "Window": _ns(rp.window),
            }
        )
    if spec.placement is not None:
        pl = spec.placement
        task["Placement"] = _drop_none(
            {
                "Constraints": list(pl.constraints) or None,
                "Preferences": [{"Spread": {"SpreadDescriptor": p.spread}} for p in pl.preferences] or None,
                "MaxReplicas": pl.max_replicas_per_node,
                "Platforms": [_drop_none({"Architecture": p.architecture, "OS": p.os}) for p in pl.platforms] or None,
            }
        )
    body: dict[str, Any] = {
        "Name": service.swarm_name,
        "Labels": dict(sorted(labels.items())),
        "TaskTemplate": task,
        "Mode": _mode(spec.mode, spec.replicas, spec.max_concurrent, spec.total_completions),
    }
    if spec.update_config is not None:
        body["UpdateConfig"] = _update_policy(spec.update_config)
    if spec.rollback_config is not None:
        body["RollbackConfig"] = _update_policy(spec.rollback_config)
    if spec.endpoint_mode != "vip":
        body["EndpointSpec"] = {"Mode": spec.endpoint_mode}
    if spec.ports:
        body.setdefault("EndpointSpec", {})["Ports"] = [
            _drop_none(
                {
                    "Protocol": p.protocol,
                    "TargetPort": p.target,
                    "PublishedPort": p.published,
                    "PublishMode": p.mode,
                }
            )
            for p in spec.ports
        ]
    return body


def _mode(mode: str, replicas: int | None, max_concurrent: int | None, total: int | None) -> dict[str, Any]:
    """A replicated job is sent with the values the engine would fill in (stored-form quirk
    ``job-defaults``: MaxConcurrent 1, TotalCompletions = MaxConcurrent), so what is stored is what was sent."""
    if mode == "global":
        return {"Global": {}}
    if mode == "global-job":
        return {"GlobalJob": {}}
    if mode == "replicated-job":
        at_once = 1 if max_concurrent is None else max_concurrent
        return {"ReplicatedJob": {"MaxConcurrent": at_once, "TotalCompletions": at_once if total is None else total}}
    return {"Replicated": {"Replicas": 1 if replicas is None else replicas}}


def _container(service: Service, manifests: ManifestSet, instance: str) -> dict[str, Any]:
    spec = service.spec
    container: dict[str, Any] = {
        "Image": spec.image,
        "Command": spec.command,
        "Args": spec.args,
        "Env": [f"{key}={value}" for key, value in sorted(spec.env.items())] or None,
        "Labels": dict(sorted(_stack_label(spec.container_labels, service.namespace).items())) or None,
        "User": spec.user,
        "Dir": spec.workdir,
        "Hostname": spec.hostname,
        "CapabilityAdd": _effective_caps(spec.cap_add, spec.cap_drop)[0],
        "CapabilityDrop": _effective_caps(spec.cap_add, spec.cap_drop)[1],
        "StopGracePeriod": _ns(spec.stop_grace_period),
        "Mounts": [_mount(m, manifests, instance, service.namespace) for m in spec.mounts] or None,
        "Configs": [_file(f, manifests, "Config", service.namespace) for f in spec.configs] or None,
        "Secrets": [_file(f, manifests, "Secret", service.namespace) for f in spec.secrets] or None,
    }
    container.update(_runtime(spec))
    if spec.healthcheck is not None:
        hc = spec.healthcheck
        container["Healthcheck"] = _drop_none(
            {
                "Test": list(hc.test),
                "Interval": _ns(hc.interval),
                "Timeout": _ns(hc.timeout),
                "Retries": hc.retries,
                "StartPeriod": _ns(hc.start_period),
            }
        )
    return _drop_none(container)


def _runtime(spec: RuntimeFields) -> dict[str, Any]:
    """The container runtime settings, as docker/cli cli/compose/convert/service.go sends them:
    ulimits sorted by name (convertUlimits), extra hosts as ``ip host`` (convertExtraHosts)."""
    dns = spec.dns
    return {
        "Ulimits": [
            {"Name": name, "Soft": limit.soft, "Hard": limit.hard} for name, limit in sorted(spec.ulimits.items())
        ]
        or None,
        "Sysctls": dict(sorted(spec.sysctls.items())) or None,
        "Init": spec.init,
        "StopSignal": spec.stop_signal,
        "ReadOnly": spec.read_only or None,
        "Hosts": [swarm_host_entry(entry) for entry in spec.extra_hosts] or None,
        "DNSConfig": None
        if dns is None
        else _drop_none(
            {
                "Nameservers": list(dns.nameservers) or None,
                "Search": list(dns.search) or None,
                "Options": list(dns.options) or None,
            }
        ),
        "Groups": list(spec.group_add) or None,
        "TTY": spec.tty or None,
        "OpenStdin": spec.stdin_open or None,
        "Isolation": None if spec.isolation == "default" else spec.isolation,
    }


def _network(attachment: Any, service: Service, manifests: ManifestSet) -> dict[str, Any]:
    """A network attachment by the network's Swarm name. In a namespace the service's own name is
    added to the aliases, as ``docker stack deploy`` does (docker-cli ``convertServiceNetworks``), so
    the stack's services find each other by their short names."""
    name, aliases = (attachment, []) if isinstance(attachment, str) else (attachment.name, list(attachment.aliases))
    if service.namespace and service.name not in aliases:
        aliases.append(service.name)
    target = manifests.target_name("Network", name, service.namespace)
    return {"Target": target, "Aliases": aliases} if aliases or not isinstance(attachment, str) else {"Target": target}


def _stack_label(labels: dict[str, str], namespace: str | None) -> dict[str, str]:
    """docker-cli ``AddStackLabel``: a stack's containers carry its namespace label too."""
    return {**labels, STACK_NAMESPACE: namespace} if namespace else labels


def _effective_caps(add: list[str], drop: list[str]) -> tuple[list[str] | None, list[str] | None]:
    """docker/cli opts/capabilities.go EffectiveCapAddCapDrop, which docker stack deploy and docker
    service create send: names with CAP_, ALL alone on its side, a capability both added and dropped
    only added, each side sorted (so an adopted service's lists compare equal)."""

    def normal(caps: list[str]) -> set[str]:
        names = {c if c.startswith("CAP_") or c == "ALL" else f"CAP_{c}" for c in caps}
        return {"ALL"} if "ALL" in names else names

    added, dropped = normal(add), normal(drop)
    return sorted(added) or None, sorted(dropped - added) or None


def _mount(mount: Any, manifests: ManifestSet, instance: str, namespace: str | None) -> dict[str, Any]:
    if mount.tmpfs is not False:
        tmpfs = {"Type": "tmpfs", "Target": mount.target, "ReadOnly": mount.read_only}
        if isinstance(mount.tmpfs, TmpfsOptions):
            size = None if mount.tmpfs.size is None else parse_memory(mount.tmpfs.size)
            tmpfs["TmpfsOptions"] = _drop_none({"SizeBytes": size, "Mode": mount.tmpfs.mode})
        return tmpfs
    if mount.bind is not None:
        return {"Type": "bind", "Source": mount.bind, "Target": mount.target, "ReadOnly": mount.read_only}
    if mount.anonymous:  # as docker stack deploy sends compose's `- /data` (docker-cli convert/volume.go)
        return {"Type": "volume", "Target": mount.target, "ReadOnly": mount.read_only}
    volume = manifests.resolve("Volume", mount.volume, namespace)
    assert isinstance(volume, Volume), "the loader checked that every mounted volume is declared"
    return {
        "Type": "volume",
        "Source": volume_name(volume),
        "Target": mount.target,
        "ReadOnly": mount.read_only,
        "VolumeOptions": volume_mount_options(volume, instance),
    }


def _file(ref: FileMount, manifests: ManifestSet, kind: str, namespace: str | None) -> dict[str, Any]:
    item = manifests.resolve(kind, ref.name, namespace)
    assert isinstance(item, Config | Secret), "the loader checked that every reference is declared"
    default_target = f"/{ref.name}" if kind == "Config" else ref.name
    return {
        "File": {"Name": ref.target or default_target, "UID": ref.uid, "GID": ref.gid, "Mode": ref.mode},
        f"{kind}Name": config_name(item, manifests.contents.get(item.key)),
    }


def _amounts(amounts: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if amounts.cpus is not None:
        out["NanoCPUs"] = parse_cpus(amounts.cpus)
    if amounts.memory is not None:
        out["MemoryBytes"] = parse_memory(amounts.memory)
    if getattr(amounts, "pids", None) is not None:
        out["Pids"] = amounts.pids
    if getattr(amounts, "generic_resources", None):
        out["GenericResources"] = [_generic(r) for r in amounts.generic_resources]
    return out


def _generic(resource: GenericResource) -> dict[str, Any]:
    return {"DiscreteResourceSpec": {"Kind": resource.kind, "Value": resource.value}}


def _update_policy(policy: UpdatePolicy) -> dict[str, Any]:
    return _drop_none(
        {
            "Parallelism": policy.parallelism,
            "Delay": _ns(policy.delay),
            "FailureAction": policy.failure_action,
            "Monitor": _ns(policy.monitor),
            "MaxFailureRatio": policy.max_failure_ratio,
            "Order": policy.order,
        }
    )


def _ns(duration: str | None) -> int | None:
    return None if duration is None else parse_duration(duration)


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
