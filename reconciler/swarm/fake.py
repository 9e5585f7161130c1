"""``FakeSwarm``: an in-memory swarm that implements ``SwarmPort`` and stores specs the way the
Engine does (``state.stored_form``), for the fast test layer and the contract suite.

What it models, because the engine does it and the reconciler depends on it: object IDs and a raft
version index per write; name conflicts (409), unknown references (404), stale versions ("update
out of sequence"), removal of what a service still uses ("in use"); tasks that are replaced only
when the task template changes (swarmkit's orchestrator restarts a task only when its spec is
dirty); volumes created on the node when a task mounts one; events for every write; a socket proxy
that refuses sections (403, naming the setting); an engine that stops answering. What it does not
model: scheduling constraints, image pulls, health checks, allocation delays. The contract suite
(``tests/contract``) runs the same behaviour on it and on a real engine; it never replaces the lab.
Used by tests and benchmarks only; nothing in the product imports it.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import queue
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.state.snapshot import ApiObject, Snapshot
from reconciler.state.stored_form import is_job, mode_kind, store_config, store_network, store_secret, store_service
from reconciler.swarm.port import (
    EngineUnavailable,
    Forbidden,
    InUse,
    NameTaken,
    NotFound,
    SwarmError,
    VersionConflict,
)
from reconciler.swarm.proxy_rules import PROXY_SETTING, proxy_setting_for, section_of

__all__ = ["FakeEvents", "FakeSwarm"]

_BUILTIN_NETWORKS = (("bridge", "bridge", "local"), ("host", "host", "local"), ("none", "null", "local"))


class FakeEvents:
    """One subscriber's event stream: blocks until an event or ``close()``."""

    _END = object()

    def __init__(self, types: Sequence[str]) -> None:
        self.types = set(types)
        self._queue: queue.Queue[Any] = queue.Queue()
        self.closed = False

    def put(self, event: ApiObject) -> None:
        if not self.closed and event["Type"] in self.types:
            self._queue.put(event)

    def __iter__(self) -> Iterator[ApiObject]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            yield item

    def close(self) -> None:
        self.closed = True
        self._queue.put(self._END)


@dataclass
class FakeSwarm:
    """An in-memory single- or multi-node swarm. ``refused``: socket-proxy settings that are off
    (``{"NETWORKS"}``; ``"POST"`` refuses every write); ``reachable = False``: no answer at all.
    ``requests`` counts calls like ``DockerSwarm``; ``writes`` lists ``(method, path)`` of each write."""

    nodes: int = 1
    refused: set[str] = field(default_factory=set)
    reachable: bool = True
    requests: int = 0
    writes: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _index: Iterator[int] = field(default_factory=lambda: itertools.count(10), repr=False)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _vxlan_ids: Iterator[int] = field(default_factory=lambda: itertools.count(4097), repr=False)
    _services: dict[str, ApiObject] = field(default_factory=dict, repr=False)
    _networks: dict[str, ApiObject] = field(default_factory=dict, repr=False)
    _configs: dict[str, ApiObject] = field(default_factory=dict, repr=False)
    _secrets: dict[str, ApiObject] = field(default_factory=dict, repr=False)
    _secret_data: dict[str, str] = field(default_factory=dict, repr=False)  # never returned (quirk secret-data-hidden)
    _volumes: dict[str, ApiObject] = field(default_factory=dict, repr=False)
    _tasks: dict[str, list[ApiObject]] = field(default_factory=dict, repr=False)
    _nodes: list[ApiObject] = field(default_factory=list, repr=False)
    _subscribers: list[FakeEvents] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        for name, driver, scope in _BUILTIN_NETWORKS:
            self._networks[self._new_id()] = {"Name": name, "Driver": driver, "Scope": scope, "Labels": {}}
        ingress = store_network({"Name": "ingress", "Driver": "overlay"}, "10.0.0.0/24", vxlan_id=4096)
        self._networks[self._new_id()] = {**ingress, "Ingress": True}
        for number in range(1, self.nodes + 1):
            self._nodes.append(
                {
                    "ID": self._new_id(),
                    "Version": {"Index": next(self._index)},
                    "Spec": {"Role": "manager", "Availability": "active", "Labels": {}},
                    "Description": {"Hostname": f"node{number}"},
                    "Status": {"State": "ready"},
                }
            )

    # -- reads ------------------------------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        with self._lock:
            before = self.requests
            for path in ("/services", "/networks", "/configs", "/secrets", "/nodes", "/volumes", "/tasks"):
                self._request("GET", path)
            networks = [{**copy.deepcopy(n), "Id": i} for i, n in self._networks.items()]
            return Snapshot(
                services=copy.deepcopy(list(self._services.values())),
                networks=networks,
                configs=copy.deepcopy(list(self._configs.values())),
                secrets=copy.deepcopy(list(self._secrets.values())),
                nodes=copy.deepcopy(self._nodes),
                volumes=copy.deepcopy(list(self._volumes.values())),
                tasks=[copy.deepcopy(t) for tasks in self._tasks.values() for t in tasks],
                requests=self.requests - before,
                taken_at=time.time(),
            )

    def running_tasks(self, service_id: str) -> list[ApiObject]:
        with self._lock:
            self._request("GET", "/tasks")
            return copy.deepcopy(self._tasks.get(service_id, []))

    def inspect_network(self, network_id: str) -> ApiObject:
        with self._lock:
            self._request("GET", f"/networks/{network_id}")
            found = self._network(network_id)
            return {**copy.deepcopy(self._networks[found]), "Id": found}

    def events(self, types: Sequence[str]) -> FakeEvents:
        with self._lock:
            self._request("GET", "/events")
            source = FakeEvents(types)
            self._subscribers.append(source)
            return source

    def events_connected(self) -> bool:
        """Whether some event stream is open (a test helper: not part of the port)."""
        with self._lock:
            return any(not s.closed for s in self._subscribers)

    def go_away(self) -> None:
        """The engine stops (a test helper: not part of the port): no request is answered and every open
        event stream ends, as when dockerd exits. ``reachable = True`` brings it back."""
        with self._lock:
            self.reachable = False
            for source in self._subscribers:
                source.close()

    def task_ids(self, service_name: str) -> set[str]:
        """The IDs of a service's current tasks (a test helper: not part of the port)."""
        with self._lock:
            service_id = next(i for i, s in self._services.items() if s["Spec"]["Name"] == service_name)
            return {t["ID"] for t in self._tasks.get(service_id, [])}

    # -- writes: networks -------------------------------------------------------------------------

    def create_network(self, spec: ApiObject) -> str:
        with self._lock:
            self._request("POST", "/networks/create")
            if any(n["Name"] == spec["Name"] for n in self._networks.values()):
                raise NameTaken(f"POST /networks/create: network with name {spec['Name']} already exists", 409)
            # The engine's default pool, 10.0.0.0/8 in /24s: past 10.0.255.0 comes 10.1.0.0 (a set with
            # hundreds of networks, as bench F's plan at 10,000 manifests has).
            number = len(self._networks) + 1
            subnet = f"10.{number // 256}.{number % 256}.0/24"
            network_id = self._new_id()
            stored = store_network(spec, subnet, next(self._vxlan_ids))
            self._networks[network_id] = {"Name": stored["Name"], "Id": network_id, "Created": _now(), **stored}
            self._emit("network", "create", network_id, spec["Name"])
            self._emit("network", "update", network_id, spec["Name"])  # the swarm allocates it at once
            return network_id

    def remove_network(self, network_id: str) -> None:
        with self._lock:
            self._request("DELETE", f"/networks/{network_id}")
            found = self._network(network_id)
            users = [s["Spec"]["Name"] for s in self._services.values() if found in _network_targets(s)]
            if users:
                raise InUse(f"DELETE /networks/{network_id}: rpc error: code = FailedPrecondition desc = network "
                            f"{found} is in use by service {users[0]}", 400)  # fmt: skip
            name = self._networks.pop(found)["Name"]
            self._emit("network", "remove", found, name)

    # -- writes: configs and secrets --------------------------------------------------------------

    def create_config(self, spec: ApiObject) -> str:
        return self._create_data_object("config", self._configs, store_config(spec))

    def create_secret(self, spec: ApiObject) -> str:
        with self._lock:
            # The data is checked (and kept out of sight, as the engine keeps it), and compared when an
            # update sends one (quirk data-update-compared).
            secret_id = self._create_data_object("secret", self._secrets, store_secret(spec))
            self._secret_data[secret_id] = str(spec.get("Data") or "")
            return secret_id

    def update_config(self, config_id: str, version: int, spec: ApiObject) -> None:
        self._update_data_object("config", self._configs, config_id, version, spec)

    def update_secret(self, secret_id: str, version: int, spec: ApiObject) -> None:
        self._update_data_object("secret", self._secrets, secret_id, version, spec)

    def remove_config(self, config_id: str) -> None:
        self._remove_data_object("config", self._configs, config_id)

    def remove_secret(self, secret_id: str) -> None:
        self._remove_data_object("secret", self._secrets, secret_id)

    def _create_data_object(self, kind: str, store: dict[str, ApiObject], spec: ApiObject) -> str:
        with self._lock:
            self._request("POST", f"/{kind}s/create")
            if any(o["Spec"]["Name"] == spec["Name"] for o in store.values()):
                raise NameTaken(f"POST /{kind}s/create: {kind} {spec['Name']} already exists", 409)
            object_id = self._new_id()
            store[object_id] = {"ID": object_id, "Version": {"Index": next(self._index)}, "CreatedAt": _now(),
                                "Spec": spec}  # fmt: skip
            self._emit(kind, "create", object_id, spec["Name"])
            return object_id

    def _update_data_object(self, kind: str, store: dict[str, ApiObject], object_id: str, version: int,
                            spec: ApiObject) -> None:  # fmt: skip
        with self._lock:
            self._request("POST", f"/{kind}s/{object_id}/update")
            current = self._get(kind, store, object_id)
            _check_version(kind, object_id, current, version)
            stored = current["Spec"]
            held = self._secret_data.get(object_id) if kind == "secret" else stored.get("Data")
            if held is not None and "Data" in spec and spec["Data"] != held:
                raise SwarmError(f"POST /{kind}s/{object_id}/update: only updates to Labels are allowed", 400)
            if spec.get("Name", stored["Name"]) != stored["Name"]:
                raise SwarmError(f"POST /{kind}s/{object_id}/update: only updates to Labels are allowed", 400)
            stored["Labels"] = dict(spec.get("Labels") or {})
            current["Version"] = {"Index": next(self._index)}
            self._emit(kind, "update", object_id, stored["Name"])

    def _remove_data_object(self, kind: str, store: dict[str, ApiObject], object_id: str) -> None:
        with self._lock:
            self._request("DELETE", f"/{kind}s/{object_id}")
            current = self._get(kind, store, object_id)
            users = [s["Spec"]["Name"] for s in self._services.values() if object_id in _reference_ids(s, kind)]
            if users:
                raise InUse(f"DELETE /{kind}s/{object_id}: {kind} is in use by the following service: {users[0]}", 400)
            del store[object_id]
            self._secret_data.pop(object_id, None)
            self._emit(kind, "remove", object_id, current["Spec"]["Name"])

    # -- writes: services -------------------------------------------------------------------------

    def create_service(self, spec: ApiObject) -> str:
        with self._lock:
            self._request("POST", "/services/create")
            if any(s["Spec"]["Name"] == spec["Name"] for s in self._services.values()):
                raise NameTaken(f"POST /services/create: service {spec['Name']} already exists", 409)
            stored = self._store_service(spec, "POST /services/create")
            service_id = self._new_id()
            now = _now()
            self._services[service_id] = {"ID": service_id, "Version": {"Index": next(self._index)},
                                          "CreatedAt": now, "UpdatedAt": now, "Spec": stored}  # fmt: skip
            self._schedule(service_id)
            self._emit("service", "create", service_id, spec["Name"])
            return service_id

    def update_service(self, service_id: str, version: int, spec: ApiObject) -> None:
        with self._lock:
            where = f"POST /services/{service_id}/update"
            self._request("POST", f"/services/{service_id}/update")
            current = self._get("service", self._services, service_id)
            _check_version("service", service_id, current, version)
            if spec.get("Name") != current["Spec"]["Name"]:
                raise SwarmError(f"{where}: rpc error: code = Unimplemented desc = renaming services is not supported",
                                 501)  # fmt: skip
            if mode_kind(spec) != mode_kind(current["Spec"]):  # quirk mode-kind-fixed
                raise SwarmError(f"{where}: rpc error: code = Unimplemented desc = service mode change is not allowed",
                                 501)  # fmt: skip
            stored = self._store_service(spec, where)
            dirty = _tasks_dirty(current["Spec"], stored)
            current.update(PreviousSpec=current["Spec"], Spec=stored, UpdatedAt=_now())
            current["Version"] = {"Index": next(self._index)}
            if dirty:
                self._tasks[service_id] = []  # swarmkit replaces a task whose spec is dirty
            self._schedule(service_id)
            self._emit("service", "update", service_id, stored["Name"])

    def remove_service(self, service_id: str) -> None:
        with self._lock:
            self._request("DELETE", f"/services/{service_id}")
            current = self._get("service", self._services, service_id)
            del self._services[service_id]
            self._tasks.pop(service_id, None)
            self._emit("service", "remove", service_id, current["Spec"]["Name"])

    def _store_service(self, spec: ApiObject, where: str) -> ApiObject:
        network_ids = {**{n["Name"]: i for i, n in self._networks.items()}, **{i: i for i in self._networks}}
        try:
            stored = store_service(spec, network_ids)
        except KeyError as exc:
            raise NotFound(f"{where}: network {exc.args[0]} not found", 404) from exc
        container = stored["TaskTemplate"]["ContainerSpec"]
        for kind, store in (("Config", self._configs), ("Secret", self._secrets)):  # quirk reference-ids
            for ref in container.get(f"{kind}s") or []:
                if not ref.get(f"{kind}ID"):
                    raise SwarmError(f"{where}: rpc error: code = InvalidArgument desc = malformed {kind.lower()} "
                                     "reference", 400)  # fmt: skip
                if ref[f"{kind}ID"] not in store:
                    raise SwarmError(f"{where}: rpc error: code = InvalidArgument desc = {kind.lower()} not found: "
                                     f"{ref.get(f'{kind}Name')}", 400)  # fmt: skip
        return stored

    def _schedule(self, service_id: str) -> None:
        """Tasks to match the mode: keep the running ones, add or drop slots, mount volumes."""
        spec = self._services[service_id]["Spec"]
        if is_job(spec):
            self._run_job(service_id, spec)
            return
        mode = spec.get("Mode") or {}
        wanted = len(self._nodes) if "Global" in mode else int((mode.get("Replicated") or {}).get("Replicas", 1))
        tasks = self._tasks.setdefault(service_id, [])[:wanted]
        while len(tasks) < wanted:
            tasks.append({"ID": self._new_id(), "ServiceID": service_id, "Slot": len(tasks) + 1,
                          "DesiredState": "running", "Status": {"State": "running"},
                          "Spec": copy.deepcopy(spec["TaskTemplate"])})  # fmt: skip
        self._tasks[service_id] = tasks
        if tasks:
            self._create_volumes(spec)

    def _run_job(self, service_id: str, spec: ApiObject) -> None:
        """A job runs at once to completion, on every create and update: each update is a new
        iteration with new tasks (swarmkit manager/controlapi/service.go UpdateService increments
        JobStatus.JobIteration; manager/orchestrator/jobs)."""
        service = self._services[service_id]
        status = service.setdefault("JobStatus", {"JobIteration": {"Index": -1}})
        status["JobIteration"]["Index"] += 1
        job = spec["Mode"].get("ReplicatedJob")
        wanted = len(self._nodes) if job is None else int(job.get("TotalCompletions", 1))
        self._tasks[service_id] = [
            {"ID": self._new_id(), "ServiceID": service_id, "Slot": slot + 1, "DesiredState": "complete",
             "Status": {"State": "complete"}, "JobIteration": dict(status["JobIteration"]),
             "Spec": copy.deepcopy(spec["TaskTemplate"])}
            for slot in range(wanted)
        ]  # fmt: skip

    def _create_volumes(self, spec: ApiObject) -> None:
        for mount in spec["TaskTemplate"]["ContainerSpec"].get("Mounts") or []:
            name = mount.get("Source")
            if mount.get("Type") != "volume" or not name or name in self._volumes:
                continue
            options = mount.get("VolumeOptions") or {}
            driver = options.get("DriverConfig") or {}
            self._volumes[name] = {"Name": name, "Driver": driver.get("Name") or "local", "Scope": "local",
                                   "Labels": dict(options.get("Labels") or {}),
                                   "Options": dict(driver.get("Options") or {})}  # fmt: skip

    # -- plumbing ---------------------------------------------------------------------------------

    def _request(self, method: str, path: str) -> None:
        """Count the call and play the proxy and the engine's availability."""
        self.requests += 1
        if not self.reachable:
            raise EngineUnavailable(f"{method} {path}: no answer from the engine: connection refused")
        setting = PROXY_SETTING.get(section_of(path), section_of(path).upper())
        if setting in self.refused or (method not in ("GET", "HEAD") and "POST" in self.refused):
            raise Forbidden(f"{method} {path}: refused (403); the socket proxy needs {proxy_setting_for(method, path)}",
                            403)  # fmt: skip
        if method not in ("GET", "HEAD"):
            self.writes.append((method, path))

    def _new_id(self) -> str:
        # Swarm IDs are 25 lowercase base-36 characters; a hash keeps them distinct in any prefix.
        return hashlib.sha256(f"fake-{next(self._ids)}".encode()).hexdigest()[:25]

    def _network(self, ref: str) -> str:
        if ref in self._networks:
            return ref
        for network_id, network in self._networks.items():
            if network["Name"] == ref:
                return network_id
        raise NotFound(f"GET /networks/{ref}: not found: network {ref} not found", 404)

    def _get(self, kind: str, store: dict[str, ApiObject], object_id: str) -> ApiObject:
        if object_id not in store:
            raise NotFound(f"{kind} {object_id}: not found: {kind} {object_id} not found", 404)
        return store[object_id]

    def _emit(self, kind: str, action: str, object_id: str, name: str) -> None:
        event = {"Type": kind, "Action": action, "Actor": {"ID": object_id, "Attributes": {"name": name}},
                 "scope": "swarm", "time": int(time.time())}  # fmt: skip
        self._subscribers = [s for s in self._subscribers if not s.closed]
        for subscriber in self._subscribers:
            subscriber.put(copy.deepcopy(event))


def _tasks_dirty(before: ApiObject, after: ApiObject) -> bool:
    """Does the update replace the tasks? swarmkit's ``IsTaskDirty``: the task template or the
    endpoint changed, except a change of placement constraints alone (which the node still meets:
    this swarm does not model constraints, so every node meets them)."""

    def template(spec: ApiObject) -> ApiObject:
        task = copy.deepcopy(spec.get("TaskTemplate") or {})
        placement = task.pop("Placement", None) or {}
        placement.pop("Constraints", None)
        return {**task, "Placement": placement}

    return template(before) != template(after) or before.get("EndpointSpec") != after.get("EndpointSpec")


def _check_version(kind: str, object_id: str, current: ApiObject, version: int) -> None:
    if current["Version"]["Index"] != version:
        raise VersionConflict(f"POST /{kind}s/{object_id}/update: update out of sequence", 500)


def _network_targets(service: ApiObject) -> set[str]:
    return {a["Target"] for a in service["Spec"]["TaskTemplate"].get("Networks") or []}


def _reference_ids(service: ApiObject, kind: str) -> set[str]:
    container = service["Spec"]["TaskTemplate"]["ContainerSpec"]
    title = kind.capitalize()
    return {ref.get(f"{title}ID", "") for ref in container.get(f"{title}s") or []}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())
