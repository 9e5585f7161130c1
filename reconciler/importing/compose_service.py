"""One compose service (long form, ``compose_merge``) to a ``Service`` manifest, and its Traefik
``deploy.labels`` to ``Route``/``Middleware`` manifests (``traefik_labels``).

What goes where follows docker-cli ``cli/compose/convert/service.go`` (what ``docker stack
deploy`` sends to Swarm): ``entrypoint`` → ``ContainerSpec.Command`` (the manifest's ``command``),
``command`` → ``Args`` (``args``); ``deploy.labels`` → the service's labels, ``labels`` → the
containers' labels; ``working_dir`` → ``workdir``; ``healthcheck.disable`` → ``test: [NONE]``, a
string test → ``CMD-SHELL``; ports in the long form (``host_ip`` has no Swarm form); a service
without ``networks`` joins the stack's implicit ``default`` network (not expressible: declare it).
Keys ``docker stack deploy`` ignores (docker-cli ``types.UnsupportedProperties``,
``DeprecatedProperties``) are findings of severity ``ignored``; any other key without a field is
``lost``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from reconciler.core.swarm_names import scoped
from reconciler.importing.compose_objects import DEFAULT_NETWORK
from reconciler.importing.compose_runtime import GENERIC_RESOURCES, PIDS, TMPFS_OPTIONS, runtime_fields, text
from reconciler.importing.conversion import Context, as_bool, as_float, as_int
from reconciler.importing.names import manifest_name
from reconciler.importing.traefik_labels import import_traefik_labels

__all__ = ["convert_service"]

_IGNORED = {
    "build", "cgroupns_mode", "cgroup_parent", "devices", "domainname", "external_links", "ipc", "links",
    "mac_address", "network_mode", "pid", "privileged", "security_opt", "shm_size", "userns_mode",
    "container_name", "expose",
}  # fmt: skip
_SIMPLE = {"user": "user", "working_dir": "workdir", "hostname": "hostname", "stop_grace_period": "stopGracePeriod"}
_POLICY = ("parallelism", "delay", "failure_action", "monitor", "max_failure_ratio", "order")


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


class _Service:
    def __init__(self, ctx: Context, key: str, data: dict[str, Any], name: str) -> None:
        self.ctx, self.key, self.data, self.name = ctx, key, data, name
        self.path: tuple[str | int, ...] = ("services", key)
        self.subject = f"service {key}"
        self.spec: dict[str, Any] = {}
        self.used: set[str] = set()

    def lost(self, sub: tuple[str | int, ...], reason: str) -> None:
        self.ctx.lost((*self.path, *sub), self.subject, ".".join(str(p) for p in sub), reason)

    def take(self, key: str) -> Any:
        self.used.add(key)
        return self.data.get(key)

    def rest(self, sub: tuple[str | int, ...], data: dict[str, Any], used: set[str]) -> None:
        for key in data:
            if key not in used:
                self.lost((*sub, key), "no manifest field says this")

    # --- the container -------------------------------------------------------------------------

    def container(self) -> None:
        image = self.take("image")
        if image is None:
            self.lost(("image",), "a Service needs an image (build: is not used by docker stack deploy)")
        else:
            self.spec["image"] = str(image)
        for compose_key, field in (("entrypoint", "command"), ("command", "args")):
            value = self.take(compose_key)
            if value is not None:
                self.spec[field] = [text(v) for v in value]
        environment = self.take("environment") or {}
        env: dict[str, str] = {}
        for variable, value in environment.items():
            if value is None:
                self.lost(("environment", variable), "has no value and none is set in the environment")
            else:
                env[variable] = text(value)
        if env:
            self.spec["env"] = env
        for compose_key, field in _SIMPLE.items():
            value = self.take(compose_key)
            if value is not None:
                self.spec[field] = text(value)
        for compose_key in ("cap_add", "cap_drop"):
            if self.take(compose_key):
                # docker-cli opts.NormalizeCapabilities upper-cases them before they reach Swarm.
                self.spec[_camel(compose_key)] = [str(c).upper() for c in self.data[compose_key]]
        if self.take("labels"):
            labels = {k: text(v) for k, v in self.data["labels"].items()}
            for label in [k for k in labels if k.lower().startswith("traefik.")]:
                self.lost(("labels", label), "Traefik reads service labels (deploy.labels), not container labels")
                del labels[label]
            if labels:
                self.spec["containerLabels"] = labels
        self.healthcheck()

    def healthcheck(self) -> None:
        check = self.take("healthcheck")
        if check is None:
            return
        if as_bool(check.get("disable")):
            self.spec["healthcheck"] = {"test": ["NONE"]}
            return
        test = check.get("test")
        result: dict[str, Any] = {}
        if isinstance(test, str):
            result["test"] = ["CMD-SHELL", test]
        elif test:
            result["test"] = [text(t) for t in test]
        else:
            self.lost(
                ("healthcheck",), "a healthcheck without a test keeps the image's: no Healthcheck field says that"
            )
            return
        for key in ("interval", "timeout", "start_period"):
            if check.get(key) is not None:
                result[_camel(key)] = text(check[key])
        if check.get("retries") is not None:
            result["retries"] = as_int(check["retries"])
        self.spec["healthcheck"] = result
        self.rest(("healthcheck",), check, {"test", "interval", "timeout", "start_period", "retries", "disable"})

    def runtime(self) -> None:
        spec, used = runtime_fields(self.data)
        self.spec.update(spec)
        self.used |= used

    # --- attachments ---------------------------------------------------------------------------

    def networks(self) -> None:
        # None (or none listed): the stack's default network, as docker stack deploy attaches it
        # (docker-cli convert.convertServiceNetworks; compose_objects writes that network).
        networks = self.take("networks") or {DEFAULT_NETWORK: None}
        if list(networks) == [DEFAULT_NETWORK] and DEFAULT_NETWORK not in self.ctx.networks:
            self.lost(("networks",), "no networks: docker stack deploy attaches the stack's `default` network "
                      "(<stack>_default): import with --stack, or declare a network")  # fmt: skip
            return
        entries: list[Any] = []
        for key, value in networks.items():
            target = self.ctx.networks.get(key)
            if target is None:
                self.lost(("networks", key), "is not a network of this import")
                continue
            value = value or {}
            if value.get("aliases"):
                entries.append({"name": target, "aliases": [str(a) for a in value["aliases"]]})
            else:
                entries.append(target)
            self.rest(("networks", key), value, {"aliases"})
        if entries:
            self.spec["networks"] = entries

    def ports(self) -> None:
        ports: list[dict[str, Any]] = []
        for index, port in enumerate(self.take("ports") or []):
            entry: dict[str, Any] = {"target": as_int(port.get("target"))}
            published = port.get("published")
            if published not in (None, ""):
                if not isinstance(as_int(published), int):
                    self.lost(("ports", index, "published"), f"{published!r}: a range is one entry per port")
                    continue
                entry["published"] = as_int(published)
            if port.get("protocol", "tcp") != "tcp":
                entry["protocol"] = port["protocol"]
            if port.get("mode", "ingress") != "ingress":
                entry["mode"] = port["mode"]
            if port.get("host_ip"):
                self.lost(("ports", index, "host_ip"), "Swarm publishes on every address of the node")
            self.rest(("ports", index), port, {"target", "published", "protocol", "mode", "host_ip"})
            ports.append(entry)
        if ports:
            self.spec["ports"] = ports

    def mounts(self) -> None:
        mounts: list[dict[str, Any]] = []
        for index, volume in enumerate(self.take("volumes") or []):
            sub: tuple[str | int, ...] = ("volumes", index)
            kind, target = volume.get("type"), str(volume.get("target", ""))
            mount: dict[str, Any] = {}
            used = {"type", "source", "target", "read_only"}
            if kind == "volume" and volume.get("source"):
                name = self.ctx.volumes.get(str(volume["source"]))
                if name is None:
                    self.lost((*sub, "source"), f"{volume['source']!r} is not a volume of this import")
                    continue
                mount["volume"] = name
            elif kind == "bind":
                source = Path(str(volume.get("source", ""))).expanduser()  # docker-cli expandUser
                mount["bind"] = str(source if source.is_absolute() else (self.ctx.project.folder / source).resolve())
            elif kind == "tmpfs":
                options = volume.get("tmpfs")
                mount["tmpfs"] = dict(options) if options and TMPFS_OPTIONS else True
                if options and TMPFS_OPTIONS:
                    used.add("tmpfs")
            elif kind == "volume":  # `- /data`: stack deploy sends no source and no options (convert/volume.go)
                mount["anonymous"] = True
                if volume.get("volume"):
                    used.add("volume")
                    self.ctx.ignored(
                        (*self.path, *sub, "volume"), self.subject, "volumes.volume", "an anonymous volume's options"
                    )
            else:
                self.lost(sub, f"{kind}: no Mount form")
                continue
            mount["target"] = target
            if as_bool(volume.get("read_only")):
                mount["readOnly"] = True
            for extra in volume:
                if extra not in used:
                    self.lost((*sub, extra), "no Mount field says this")
            mounts.append(mount)
        if mounts:
            self.spec["mounts"] = mounts

    def files(self, section: str) -> None:
        known = self.ctx.configs if section == "configs" else self.ctx.secrets
        refs: list[dict[str, Any]] = []
        for index, item in enumerate(self.take(section) or []):
            source = str(item.get("source"))
            name = known.get(source)
            if name is None:
                self.lost((section, index), f"{source!r} is not one of this import's {section}")
                continue
            ref: dict[str, Any] = {"name": name}
            # docker-cli convertFileObject: no target is the source's name, for a config too (a relative
            # path: 'motd', not '/motd'); the manifest's default is the render's (service_spec._file).
            target = item.get("target") or source
            default = name if section == "secrets" else f"/{name}"
            if target != default:
                ref["target"] = str(target)
            for key in ("uid", "gid"):
                if item.get(key) is not None:
                    ref[key] = str(item[key])
            if item.get("mode") is not None:
                mode = item["mode"]
                ref["mode"] = f"0{mode:o}" if isinstance(mode, int) else str(mode)  # octal, as people write it
            self.rest((section, index), item, {"source", "target", "uid", "gid", "mode"})
            refs.append(ref)
        if refs:
            self.spec[section] = refs

    # --- deploy --------------------------------------------------------------------------------

    def deploy(self) -> dict[str, str]:
        deploy = self.take("deploy") or {}
        sub: tuple[str, ...] = ("deploy",)
        mode = deploy.get("mode", "replicated")
        if mode not in ("replicated", "global", "replicated-job", "global-job"):
            self.lost((*sub, "mode"), f"{mode!r}: a Service is replicated, global, replicated-job or global-job")
        elif mode != "replicated":
            self.spec["mode"] = mode
        if deploy.get("replicas") is not None and mode == "replicated-job":
            # docker-cli cli/compose/convert/service.go convertDeployMode: a replicated job's
            # replicas are both its MaxConcurrent and its TotalCompletions.
            self.spec["maxConcurrent"] = self.spec["totalCompletions"] = as_int(deploy["replicas"])
        elif deploy.get("replicas") is not None:
            self.spec["replicas"] = as_int(deploy["replicas"])
        if deploy.get("endpoint_mode"):
            self.spec["endpointMode"] = deploy["endpoint_mode"]
        placement = deploy.get("placement") or {}
        if placement:
            result: dict[str, Any] = {}
            if placement.get("constraints"):
                result["constraints"] = [str(c) for c in placement["constraints"]]
            if placement.get("preferences"):
                result["preferences"] = [{"spread": str(p.get("spread"))} for p in placement["preferences"]]
            if placement.get("max_replicas_per_node") is not None:
                result["maxReplicasPerNode"] = as_int(placement["max_replicas_per_node"])
            self.spec["placement"] = result
            self.rest((*sub, "placement"), placement, {"constraints", "preferences", "max_replicas_per_node"})
        self.resources(deploy.get("resources") or {})
        for key in ("update_config", "rollback_config"):
            if deploy.get(key):
                policy = deploy[key]
                casts = {"parallelism": as_int, "max_failure_ratio": as_float}
                self.spec[_camel(key)] = {
                    _camel(k): casts.get(k, lambda v: v)(policy[k]) for k in _POLICY if k in policy
                }
                self.rest((*sub, key), policy, set(_POLICY))
        if deploy.get("restart_policy"):
            policy = deploy["restart_policy"]
            keys = ("condition", "delay", "max_attempts", "window")
            self.spec["restartPolicy"] = {
                _camel(k): (as_int(policy[k]) if k == "max_attempts" else policy[k]) for k in keys if k in policy
            }
            self.rest((*sub, "restart_policy"), policy, set(keys))
            if self.take("restart") is not None:
                self.ctx.ignored(
                    (*self.path, "restart"), self.subject, "restart", "deploy.restart_policy is set, which wins"
                )
        elif self.take("restart") is not None:
            self.legacy_restart(str(self.data["restart"]))
        used = {"mode", "replicas", "endpoint_mode", "placement", "resources", "update_config", "rollback_config"}
        self.rest(sub, deploy, used | {"restart_policy", "labels"})
        return {k: text(v) for k, v in (deploy.get("labels") or {}).items()}

    def legacy_restart(self, restart: str) -> None:
        """docker-cli ``convertRestartPolicy``: without ``deploy.restart_policy`` the container-style
        ``restart`` is used: ``no`` none, ``always``/``unless-stopped`` any, ``on-failure[:N]`` on-failure
        with N attempts."""
        name, _, count = restart.partition(":")
        attempts = as_int(count) if count else None
        if name in ("no", ""):
            return  # Swarm's default policy stays (docker-cli sends none)
        if name not in ("always", "unless-stopped", "on-failure") or (count and (attempts is None or attempts < 0)):
            self.lost(("restart",), f"{restart!r} is not no, always, unless-stopped or on-failure[:N]")
            return
        policy: dict[str, Any] = {"condition": "on-failure" if name == "on-failure" else "any"}
        if attempts:
            policy["maxAttempts"] = attempts
        self.spec["restartPolicy"] = policy

    def resources(self, resources: dict[str, Any]) -> None:
        result: dict[str, Any] = {}
        for key in ("limits", "reservations"):
            amounts = resources.get(key) or {}
            if amounts:
                result[key] = {k: text(amounts[k]) for k in ("cpus", "memory") if amounts.get(k) is not None}
                known = {"cpus", "memory"}
                if key == "limits" and PIDS and amounts.get("pids") is not None:
                    result[key]["pids"] = as_int(amounts["pids"])
                    known.add("pids")
                if key == "reservations" and GENERIC_RESOURCES and amounts.get("generic_resources"):
                    result[key]["genericResources"] = list(amounts["generic_resources"])
                    known.add("generic_resources")
                self.rest(("deploy", "resources", key), amounts, known)
        if result:
            self.spec["resources"] = result
        self.rest(("deploy", "resources"), resources, {"limits", "reservations"})

    def depends_on(self) -> None:
        depends = self.take("depends_on")
        if not depends:
            return
        names = list(depends) if isinstance(depends, dict | list) else []
        self.spec["dependsOn"] = [f"Service/{manifest_name(str(n))}" for n in names]


def convert_service(ctx: Context, key: str, data: dict[str, Any]) -> None:
    name = ctx.claim("Service", key, ("services", key), f"service {key}")
    if name is None:
        return
    service = _Service(ctx, key, data, name)
    service.container()
    service.runtime()
    service.networks()
    service.ports()
    service.mounts()
    service.files("configs")
    service.files("secrets")
    labels = service.deploy()
    service.depends_on()
    for compose_key in data:
        if compose_key in _IGNORED:
            ctx.ignored(
                ("services", key, compose_key), service.subject, compose_key, "Swarm services have no such field"
            )
        elif compose_key == "tmpfs":  # docker-cli convert reads a volumes entry's tmpfs, never this key
            reason = "docker stack deploy does not pass it to Swarm: a volumes entry of type tmpfs does that"
            ctx.ignored(("services", key, compose_key), service.subject, compose_key, reason)
        elif compose_key not in service.used and not compose_key.startswith("x-"):
            service.lost((compose_key,), "no Service field says this (yet)")
    traefik = import_traefik_labels(labels, name, network=lambda value: _route_network(ctx, value))
    for problem in traefik.problems:
        ctx.lost(_label_path(ctx, key, problem.label), service.subject, problem.label, problem.reason)
    if traefik.rest:
        service.spec["labels"] = traefik.rest
    ctx.add("Service", name, service.spec, ("services", key))
    for document in traefik.middlewares + traefik.routes:
        ctx.add_traefik(document, service.subject, ("services", key, "deploy", "labels"))


def _label_path(ctx: Context, key: str, label: str) -> tuple[str | int, ...]:
    """Where ``label`` is written among the service's ``deploy.labels`` (by index in the list form),
    in the last file that sets it; the labels' own place when none does."""
    base: tuple[str | int, ...] = ("services", key, "deploy", "labels")
    for compose in reversed(ctx.project.files):
        labels = compose.data.get("services", {}).get(key, {}) or {}
        labels = (labels.get("deploy") or {}).get("labels") if isinstance(labels, dict) else None
        if isinstance(labels, dict) and label in labels:
            return (*base, label)
        if isinstance(labels, list):
            for index, item in enumerate(labels):
                if str(item).partition("=")[0] == label:
                    return (*base, index)
    return base


def _route_network(ctx: Context, value: str) -> str | None:
    """A network label names the Swarm network: an external one by its name, a stack one as
    ``<stack>_<key>`` (or by its key, as written before deploy)."""
    for key, target in ctx.networks.items():
        if value in (target, key) or (ctx.stack and value == scoped(ctx.stack, key)):
            return target
    return None
