"""``Service``: a Swarm service, with networks, NFS-backed volume mounts, configs and secrets by
manifest name, placement, resources, health, update/rollback/restart policies and host or ingress ports.

Compiled into an Engine ``ServiceSpec`` by ``reconciler.render.service_spec``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Discriminator, Field, Tag, model_validator

from reconciler.core.keys import ResourceKey
from reconciler.manifests.engine_limits import HealthDuration, check_cpus, memory_problem
from reconciler.manifests.kinds.base import Reference, Resource
from reconciler.manifests.kinds.service_runtime import RuntimeFields
from reconciler.manifests.kinds.service_task import GenericResourceEntry, TaskFields, TmpfsEntry, octal_mode
from reconciler.manifests.object_names import ConfigObjectName, SwarmObjectName, VolumeObjectName
from reconciler.manifests.placement import check_constraint, check_spread
from reconciler.manifests.types import (
    Cpus,
    Duration,
    Flag,
    MemorySize,
    Number,
    SafeText,
    ServiceLabels,
    Spec,
    WholeNumber,
    empty_list,
    matching,
    nested_error,
    shown,
)
from reconciler.manifests.units import parse_memory

__all__ = ["Service", "ServiceSpec"]

_IMAGE = re.compile(
    r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+/[a-z0-9._/-]+)?(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?$"
)
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_ABS_PATH = re.compile(r"^/[A-Za-z0-9._~/@+-]*$")
# Spaces only: `\s` would also take a newline or tab into the engine's constraint.
_CONSTRAINT = re.compile(r"^ *[A-Za-z0-9_.-]+(\.[A-Za-z0-9_./-]+)? *(==|!=) *[A-Za-z0-9_.:/@-]+ *$")
_CAPABILITY = re.compile(r"^(CAP_)?[A-Z_]+$|^ALL$")
_SPREAD = re.compile(r"^(node|engine)\.labels\.[A-Za-z0-9_.-]+$", re.IGNORECASE)
_DEPENDENCY = re.compile(r"^[A-Z][A-Za-z]+/([a-z0-9]([-_a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


ImageRef = Annotated[str, matching(_IMAGE, "an image reference such as nginx:1.27 or registry:5000/app@sha256:…")]
AbsPath = Annotated[str, matching(_ABS_PATH, "an absolute path without spaces")]
# A bind source may name Swarm template fields, e.g. /srv/{{.Node.Hostname}}/data (template_checks).
_BIND_PATH = re.compile(r"^/([A-Za-z0-9._~/@+-]|\{\{ ?\.[A-Za-z.]+ ?\}\})*$")
BindPath = Annotated[
    str, matching(_BIND_PATH, "an absolute path without spaces (Swarm template fields such as {{.Node.ID}} allowed)")
]
Constraint = Annotated[
    str,
    matching(_CONSTRAINT, "a placement constraint such as 'node.role == manager'"),
    AfterValidator(check_constraint),
]
Capability = Annotated[str, matching(_CAPABILITY, "a capability such as NET_ADMIN or CAP_NET_ADMIN")]
Dependency = Annotated[
    str, matching(_DEPENDENCY, "a reference of the form Kind/name or Kind/namespace/name, e.g. Service/db")
]
EnvKey = Annotated[str, matching(_ENV_KEY, "an environment variable name")]
Port = Annotated[WholeNumber, Field(ge=1, le=65535)]


# A network alias is a DNS name the network's embedded DNS answers for the service (moby
# ``NetworkAttachmentConfig.Aliases``; swarmkit and moby take any string): dot-separated labels of
# 1-63 letters, digits, '-' and '_' (docker stack deploy adds the compose service key, which may hold
# '_'), not starting or ending with '-', at most 253 characters in all: no space, control character
# or other byte reaches the DNS table.
_ALIAS_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?"
NETWORK_ALIAS = re.compile(rf"{_ALIAS_LABEL}(?:\.{_ALIAS_LABEL})*")
NetworkAlias = Annotated[
    str,
    Field(max_length=253),
    matching(NETWORK_ALIAS, "a network alias: a DNS name such as db or db.internal"),
]


class NetworkAttachment(Spec):
    name: SwarmObjectName
    aliases: list[NetworkAlias] = Field(
        default_factory=empty_list, description="DNS names of the service on this network, e.g. [db, db.internal]."
    )


class Mount(Spec):
    """Exactly one source: a ``Volume`` manifest, a host path (``bind``), ``tmpfs`` (``true`` or its
    options) or ``anonymous: true``: a volume without a name, which the engine makes for each task
    with its default driver (compose's ``- /data``; docker-cli ``convert/volume.go`` sends it as a
    volume mount with no ``Source`` and no options)."""

    volume: VolumeObjectName | None = Field(default=None, description="The name of a Volume manifest.")
    bind: BindPath | None = Field(
        default=None, description="A path on the node, e.g. /var/run/docker.sock; may hold {{.Node.Hostname}} etc."
    )
    tmpfs: TmpfsEntry = Field(
        default=False, description='`true`, or the tmpfs\'s {size, mode}, e.g. {size: 64M, mode: "1777"}.'
    )
    anonymous: Flag = Field(
        default=False,
        description="`true`: a volume without a name, made for each task by the engine's default driver "
        "(compose's `- /data`).",
    )
    target: AbsPath
    read_only: Flag = False

    @model_validator(mode="after")
    def _one_source(self) -> Mount:
        if (self.volume is not None) + (self.bind is not None) + (self.tmpfs is not False) + self.anonymous != 1:
            raise ValueError("set exactly one of `volume`, `bind`, `tmpfs` (true or {size, mode}) or `anonymous: true`")
        if self.anonymous and self.read_only:  # moby volume/mounts/validate.go refuses it, each task rejected
            raise ValueError("an anonymous volume cannot be read-only (the engine rejects every task): drop `readOnly`")
        return self


FileMode = Annotated[WholeNumber, BeforeValidator(octal_mode("0440")), Field(ge=0, le=0o777)]


# A network by name, or with aliases: the branch is chosen by the value's shape, so an error speaks
# of that branch only (an undiscriminated union reports both, one under an internal branch name).
NetworkEntry = Annotated[
    Annotated[SwarmObjectName, Tag("name")] | Annotated[NetworkAttachment, Tag("attachment")],
    Discriminator(lambda value: "attachment" if isinstance(value, dict | NetworkAttachment) else "name"),
]


class FileMount(Spec):
    """A Config or Secret given to the service; ``target`` defaults to the manifest name."""

    name: ConfigObjectName
    target: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._/@+-]+$")
    uid: str = Field(default="0", pattern=r"^[0-9]+$")
    gid: str = Field(default="0", pattern=r"^[0-9]+$")
    mode: FileMode = Field(default=0o444, description='File mode: an octal string such as "0440", or an integer.')


class SpreadPreference(Spec):
    spread: Annotated[
        str,
        AfterValidator(check_spread),
        matching(_SPREAD, "a label key such as node.labels.zone (letters, digits, '_', '.', '-')"),
        Field(description="node.labels.<label> or engine.labels.<label>: the only descriptors Swarm spreads over."),
    ]


class Platform(Spec):
    """A platform an image runs on (moby ``api/types/swarm.Platform``), as the registry lists it."""

    architecture: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)] | None = None
    os: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=64)] | None = None


class Placement(Spec):
    constraints: list[Constraint] = Field(default_factory=empty_list)
    preferences: list[SpreadPreference] = Field(default_factory=empty_list)
    max_replicas_per_node: WholeNumber | None = Field(default=None, ge=1)
    platforms: list[Platform] = Field(
        default_factory=empty_list,
        description="Only nodes of one of these platforms run the tasks, e.g. [{architecture: amd64, os: linux}]. "
        "`docker service create` and `docker stack deploy` record the image's platforms from the registry; "
        "`reconciler import swarm` keeps them, so an adoption does not change the task template.",
    )


class ResourceAmounts(Spec):
    cpus: Annotated[Cpus, AfterValidator(check_cpus)] | None = None
    memory: MemorySize | None = None


class Limits(ResourceAmounts):
    pids: WholeNumber | None = Field(
        default=None, ge=1, description="At most this many processes per task (Compose's pids)."
    )


class Reservations(ResourceAmounts):
    generic_resources: list[GenericResourceEntry] = Field(
        default_factory=empty_list,
        description="Numbers of resources the nodes advertise, e.g. {kind: gpu, value: 2}.",
    )


class Resources(Spec):
    """The engine's minimums (``engine_limits``): cpus at least 0.001, memory at least 4MiB, a
    memory limit at least 6MiB and not below the reservation."""

    limits: Limits | None = None
    reservations: Reservations | None = None

    @model_validator(mode="after")
    def _engine_minimums(self) -> Resources:
        for key, amounts in (("limits", self.limits), ("reservations", self.reservations)):
            if amounts is not None and amounts.memory is not None:
                problem = memory_problem(amounts.memory, is_limit=key == "limits")
                if problem is not None:
                    raise nested_error((key, "memory"), problem)
        limit = self.limits.memory if self.limits is not None else None
        reserved = self.reservations.memory if self.reservations is not None else None
        if limit is not None and reserved is not None and 0 < parse_memory(limit) < parse_memory(reserved):
            raise nested_error(
                ("limits", "memory"),
                f"the limit {limit} is below the reservation {reserved}: the engine refuses to start such a container",
            )
        return self


class Healthcheck(Spec):
    test: list[SafeText] = Field(min_length=1, description='e.g. ["CMD", "curl", "-f", "http://localhost/"]')
    interval: HealthDuration | None = None
    timeout: HealthDuration | None = None
    retries: WholeNumber | None = Field(default=None, ge=0)
    start_period: HealthDuration | None = None

    @model_validator(mode="after")
    def _known_form(self) -> Healthcheck:
        if self.test[0] not in {"CMD", "CMD-SHELL", "NONE"}:
            raise ValueError("test must start with CMD, CMD-SHELL or NONE")
        return self


class UpdatePolicy(Spec):
    parallelism: WholeNumber = Field(default=1, ge=0)
    delay: Duration | None = None
    failure_action: Literal["pause", "continue", "rollback"] | None = None
    monitor: Duration | None = None
    max_failure_ratio: Number | None = Field(default=None, ge=0, le=1)
    order: Literal["stop-first", "start-first"] | None = None


class RestartPolicy(Spec):
    condition: Literal["none", "on-failure", "any"] = "any"
    delay: Duration | None = None
    max_attempts: WholeNumber | None = Field(default=None, ge=0)
    window: Duration | None = None


_COMPOSE_PORT = re.compile(
    r"(?:(?P<ip>[0-9]+(?:\.[0-9]+){3}|\[[0-9a-fA-F:]+\]):)?(?:(?P<published>[0-9]+(?:-[0-9]+)?):)?"
    r"(?P<target>[0-9]+(?:-[0-9]+)?)(?:/(?P<protocol>tcp|udp|sctp))?"
)


def _long_form(value: object) -> object:
    """Compose's short port syntax ("8080:80", 80) is refused with the long form to write instead."""
    text = str(value) if isinstance(value, int | str) and not isinstance(value, bool) else None
    match = _COMPOSE_PORT.fullmatch(text) if text is not None else None
    if match is None:
        return value
    fields = [f"target: {match['target']}"]
    if match["published"]:
        fields.insert(0, f"published: {match['published']}")
    if match["protocol"]:
        fields.append(f"protocol: {match['protocol']}")
    notes = ""
    if "-" in (match["target"] + (match["published"] or "")):
        notes += "; a range is one entry per port"
    if match["ip"]:
        notes += "; Swarm publishes on every address of the node (no address to bind to)"
    raise ValueError(f"{shown(value)} is Compose's short form: write {{{', '.join(fields)}}}{notes}")


class PublishedPort(Spec):
    target: Port
    published: Port | None = None
    protocol: Literal["tcp", "udp", "sctp"] = "tcp"
    mode: Literal["ingress", "host"] = Field(
        default="ingress", description="`host` binds on the node running the task (no routing mesh)."
    )


class ServiceSpec(RuntimeFields, TaskFields):
    """The runtime settings (ulimits, sysctls, init, stopSignal, readOnly, extraHosts, dns, groupAdd,
    isolation) come from ``RuntimeFields`` (``service_runtime``), ``logging`` from ``TaskFields``
    (``service_task``)."""

    image: ImageRef
    command: list[SafeText] | None = Field(default=None, description="Replaces the image's entrypoint.")
    args: list[SafeText] | None = Field(default=None, description="Replaces the image's command.")
    env: dict[EnvKey, SafeText] = Field(default_factory=dict)
    mode: Literal["replicated", "global", "replicated-job", "global-job"] = Field(
        default="replicated",
        description="`replicated` or `global` tasks that keep running, or a job whose tasks run to completion: "
        "`replicated-job` (totalCompletions tasks, maxConcurrent at a time) or `global-job` (one per node). "
        "Any update of a job service runs the job again (swarmkit's JobIteration).",
    )
    replicas: WholeNumber | None = Field(default=None, ge=0, description="Default 1; only for replicated mode.")
    max_concurrent: WholeNumber | None = Field(
        default=None, ge=0, description="replicated-job: tasks run at a time (default 1)."
    )
    total_completions: WholeNumber | None = Field(
        default=None, ge=0, description="replicated-job: tasks that must complete (default maxConcurrent)."
    )
    networks: list[NetworkEntry] = Field(default_factory=empty_list)
    mounts: list[Mount] = Field(default_factory=empty_list)
    configs: list[FileMount] = Field(default_factory=empty_list)
    secrets: list[FileMount] = Field(default_factory=empty_list)
    placement: Placement | None = None
    resources: Resources | None = None
    healthcheck: Healthcheck | None = None
    update_config: UpdatePolicy | None = None
    rollback_config: UpdatePolicy | None = None
    restart_policy: RestartPolicy | None = None
    ports: list[Annotated[PublishedPort, BeforeValidator(_long_form)]] = Field(default_factory=empty_list)
    # No traefik.* keys (ServiceLabels): those come from Route and Middleware manifests.
    labels: ServiceLabels = Field(default_factory=dict, description="Labels on the service (Spec.Labels).")
    container_labels: ServiceLabels = Field(default_factory=dict, description="Labels on each task's container.")
    user: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+(:[A-Za-z0-9_.-]+)?$")] | None = None
    workdir: AbsPath | None = None
    hostname: Annotated[str, Field(pattern=r"^[A-Za-z0-9{}. _-]+$", max_length=253)] | None = Field(
        default=None,
        description="May use Swarm template fields, e.g. {{.Service.Name}}-{{.Task.Slot}}; at most 63 characters expanded.",
    )
    cap_add: list[Capability] = Field(default_factory=empty_list)
    cap_drop: list[Capability] = Field(default_factory=empty_list)
    stop_grace_period: Duration | None = None
    endpoint_mode: Literal["vip", "dnsrr"] = Field(
        default="vip",
        description="How other tasks reach it: `vip`, one virtual IP (the default), or `dnsrr`, DNS "
        "round-robin over the tasks' addresses (no ingress-published ports).",
    )
    depends_on: list[Dependency] = Field(
        default_factory=empty_list, description="Kind/name of manifests applied (and converged) first."
    )

    @model_validator(mode="after")
    def _consistent(self) -> ServiceSpec:
        if self.mode != "replicated" and self.replicas is not None:
            hint = (
                "; a replicated job takes totalCompletions and maxConcurrent" if self.mode == "replicated-job" else ""
            )
            raise nested_error(("replicas",), f"replicas cannot be set for a {self.mode} service{hint}")
        for field, key in (("max_concurrent", "maxConcurrent"), ("total_completions", "totalCompletions")):
            if self.mode != "replicated-job" and getattr(self, field) is not None:
                raise nested_error((key,), f"only a replicated-job service takes it (mode is {self.mode})")
        # swarmkit manager/controlapi/service.go validateJob: "Jobs may not have an update config".
        if self.mode.endswith("-job") and self.update_config is not None:
            raise nested_error(("updateConfig",), "a job service takes no updateConfig (swarmkit refuses it): drop it")
        seen: set[tuple[int, str]] = set()
        for port in self.ports:
            if port.published is not None:
                if (port.published, port.protocol) in seen:
                    raise ValueError(f"port {port.published}/{port.protocol} is published twice")
                seen.add((port.published, port.protocol))
        # swarmkit controlapi/service.go validateEndpointSpec: "port published with ingress mode
        # can't be used with dnsrr mode".
        for index, port in enumerate(self.ports):
            if self.endpoint_mode == "dnsrr" and port.mode == "ingress":
                raise nested_error(("ports", index, "mode"), "a dnsrr service can publish ports only with mode: host")
        targets = [m.target for m in self.mounts]
        if len(targets) != len(set(targets)):
            raise ValueError("two mounts share one target path")
        # swarmkit controlapi/service.go validateSecretRefsSpec/validateConfigRefsSpec: two
        # references with one target file "have a conflicting target".
        for field, default in (("secrets", ""), ("configs", "/")):
            seen_targets: set[str] = set()
            for index, ref in enumerate(getattr(self, field)):
                target = ref.target or f"{default}{ref.name}"
                if target in seen_targets:
                    raise nested_error(
                        (field, index, "target"), f"{target} is already the target of another of {field}"
                    )
                seen_targets.add(target)
        return self

    def network_names(self) -> list[str]:
        return [n if isinstance(n, str) else n.name for n in self.networks]


class Service(Resource):
    KIND = "Service"
    kind: Literal["Service"]
    spec: ServiceSpec

    def references(self) -> list[Reference]:
        refs: list[Reference] = []
        for i, net in enumerate(self.spec.networks):
            name = net if isinstance(net, str) else net.name
            path: tuple[str | int, ...] = ("spec", "networks", i) + (() if isinstance(net, str) else ("name",))
            refs.append(Reference(kind="Network", name=name, field_path=path))
        refs += [
            Reference(kind="Volume", name=m.volume, field_path=("spec", "mounts", i, "volume"))
            for i, m in enumerate(self.spec.mounts)
            if m.volume is not None
        ]
        refs += [
            Reference(kind="Config", name=c.name, field_path=("spec", "configs", i, "name"))
            for i, c in enumerate(self.spec.configs)
        ]
        refs += [
            Reference(kind="Secret", name=s.name, field_path=("spec", "secrets", i, "name"))
            for i, s in enumerate(self.spec.secrets)
        ]
        for i, dep in enumerate(self.spec.depends_on):
            key = ResourceKey.parse(dep)
            refs.append(
                Reference(kind=key.kind, name=key.name, namespace=key.namespace, field_path=("spec", "dependsOn", i))
            )
        return refs
