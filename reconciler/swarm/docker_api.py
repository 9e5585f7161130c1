"""``SwarmPort`` over the Engine API (``reconciler.swarm.engine_client``, the standard library's HTTP).

Raw JSON in and out: specs built by ``reconciler.render`` are sent as they are. Errors become the
port's exception types, with the socket-proxy setting named when the proxy refuses a request.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from reconciler.swarm.engine_client import EngineAddress, EngineClient, EngineError, UnsupportedAddress
from reconciler.swarm.port import (
    ApiObject,
    EngineUnavailable,
    EventSource,
    Forbidden,
    InUse,
    NameTaken,
    NotFound,
    Snapshot,
    SwarmError,
    VersionConflict,
)
from reconciler.swarm.proxy_rules import PROXY_SETTING, proxy_setting_for
from reconciler.swarm.unreachable import describe_unreachable, engine_address

__all__ = ["PROXY_SETTING", "DockerSwarm", "connect", "proxy_setting_for"]

T = TypeVar("T")
DEFAULT_TIMEOUT = 30


def connect(docker_host: str | None, timeout: int = DEFAULT_TIMEOUT) -> DockerSwarm:
    """A client for ``docker_host`` (``unix://…``, ``tcp://…``), or ``DOCKER_HOST``, or the default
    socket; the API version is asked now. Raises ``EngineUnavailable`` or ``Forbidden``."""
    where = engine_address(docker_host)
    try:
        api = EngineClient(EngineAddress.parse(docker_host), timeout=timeout)
    except UnsupportedAddress as exc:
        raise EngineUnavailable(str(exc)) from exc
    try:
        api.api_version  # noqa: B018  (asked once, here: every later path is under /v<version>)
    except EngineError as exc:
        api.close()  # the refused answer's connection went back to the pool
        if exc.status == 403:  # the API version is negotiated with GET /version before anything else
            raise Forbidden(f"GET /version at {where}: refused (403); the socket proxy needs VERSION=1", 403) from exc
        raise EngineUnavailable(f"GET /version at {where}: {exc.message}") from exc
    except OSError as exc:
        api.close()
        raise EngineUnavailable(describe_unreachable(where, exc)) from exc
    except (http.client.HTTPException, ValueError, LookupError, TypeError) as exc:
        # Something answers, but not the Engine API: no HTTP (a TLS port spoken to in plain text), no
        # JSON, or JSON without ApiVersion (a web server or proxy on that port).
        api.close()
        raise EngineUnavailable(
            f"GET /version at {where}: the answer is not the Engine API's ({type(exc).__name__}: {exc}); "
            "check that --docker-host (or DOCKER_HOST) is the engine's address, with DOCKER_TLS_VERIFY "
            "set for a TLS port"
        ) from exc
    return DockerSwarm(api, where)


class DockerSwarm:
    def __init__(self, api: EngineClient, address: str | None = None) -> None:
        self.api = api
        self.address = address or api.address.text  # named in errors
        self.requests = 0  # every call counts: the benchmarks report it
        self._count_lock = threading.Lock()  # an apply sends from several threads (engine.scheduling)

    @property
    def api_version(self) -> str:
        return self.api.api_version

    def close(self) -> None:
        self.api.close()

    # -- reads ------------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, lambda: self.api.get_json(path, params))

    def raw_request(self, method: str, path: str, params: dict[str, Any] | None = None) -> None:
        """Send a request and only check its status (doctor's probes)."""

        self._call(method, path, lambda: self.api.request(method, path.split("?")[0], params or _query(path)))

    def ping(self) -> None:
        self.raw_request("GET", "/_ping")

    def snapshot(self) -> Snapshot:
        before = self.requests
        services = self.get("/services")
        # Every scope: a node-local network with a manifest's name blocks the create just the same.
        networks = self.get("/networks")
        configs = self.get("/configs")
        secrets = self.get("/secrets")
        nodes = self.get("/nodes")
        volumes = self.get("/volumes").get("Volumes") or []
        tasks = self.get("/tasks")
        # A service on the host network refers to the cluster's own ID of "host", which the node's
        # network list does not show: resolve such IDs (a handful at most, whatever the object count).
        known = {n["Id"] for n in networks}
        unknown = {
            a.get("Target", "")
            for s in services
            for a in (s["Spec"].get("TaskTemplate") or {}).get("Networks") or []
            if a.get("Target") and a.get("Target") not in known
        }
        for network_id in sorted(unknown):
            try:
                found = self.get(f"/networks/{network_id}", {"scope": "swarm"})
            except NotFound:
                continue
            networks.append({**found, "Id": network_id})
        return Snapshot(services, networks, configs, secrets, nodes, volumes, tasks,
                        requests=self.requests - before, taken_at=time.time())  # fmt: skip

    def running_tasks(self, service_id: str) -> list[ApiObject]:
        filters = json.dumps({"service": {service_id: True}, "desired-state": {"running": True}})
        tasks: list[ApiObject] = self.get("/tasks", {"filters": filters})
        return tasks

    def events(self, types: Sequence[str]) -> EventSource:
        """The decoded event stream (its ``close()`` ends the iteration)."""
        filters = json.dumps({"type": list(types)})
        stream: EventSource = self._call("GET", "/events", lambda: self.api.stream("/events", {"filters": filters}))
        return stream

    def inspect_network(self, network_id: str) -> ApiObject:
        found: ApiObject = self.get(f"/networks/{network_id}")
        return found

    # -- writes -----------------------------------------------------------------------------------

    def _post(self, path: str, body: ApiObject, params: dict[str, Any] | None = None) -> Any:
        def call() -> Any:
            text = self.api.request("POST", path, params, body)
            return json.loads(text) if text.strip() else {}  # config/secret updates answer with no body

        return self._call("POST", path, call)

    def _delete(self, path: str) -> None:
        self._call("DELETE", path, lambda: self.api.request("DELETE", path))

    def create_network(self, spec: ApiObject) -> str:
        return str(self._post("/networks/create", {**spec, "CheckDuplicate": True})["Id"])

    def remove_network(self, network_id: str) -> None:
        self._delete(f"/networks/{network_id}")

    def create_config(self, spec: ApiObject) -> str:
        return str(self._post("/configs/create", spec)["ID"])

    def remove_config(self, config_id: str) -> None:
        self._delete(f"/configs/{config_id}")

    def update_config(self, config_id: str, version: int, spec: ApiObject) -> None:
        """Swarm lets only the labels of a config change."""
        self._post(f"/configs/{config_id}/update", spec, params={"version": version})

    def update_secret(self, secret_id: str, version: int, spec: ApiObject) -> None:
        self._post(f"/secrets/{secret_id}/update", spec, params={"version": version})

    def create_secret(self, spec: ApiObject) -> str:
        return str(self._post("/secrets/create", spec)["ID"])

    def remove_secret(self, secret_id: str) -> None:
        self._delete(f"/secrets/{secret_id}")

    def create_service(self, spec: ApiObject) -> str:
        return str(self._post("/services/create", spec)["ID"])

    def update_service(self, service_id: str, version: int, spec: ApiObject) -> None:
        self._post(f"/services/{service_id}/update", spec, params={"version": version})

    def remove_service(self, service_id: str) -> None:
        self._delete(f"/services/{service_id}")

    # -- errors -----------------------------------------------------------------------------------

    def _count(self) -> None:
        with self._count_lock:
            self.requests += 1

    def _call(self, method: str, path: str, call: Callable[[], T]) -> T:
        self._count()
        try:
            return call()
        except EngineError as exc:
            raise _translate(method, path, exc) from exc
        except OSError as exc:
            raise EngineUnavailable(f"{method} {path}: {describe_unreachable(self.address, exc)}") from exc
        except (http.client.HTTPException, ValueError) as exc:  # no HTTP, no JSON, too large
            if isinstance(exc, http.client.RemoteDisconnected):  # closed without an answer: the transport's
                raise EngineUnavailable(f"{method} {path}: {describe_unreachable(self.address, exc)}") from exc
            raise EngineUnavailable(
                f"{method} {path} at {self.address}: the answer is not the Engine API's "
                f"({type(exc).__name__}: {exc}); check that --docker-host (or DOCKER_HOST) is the engine's address"
            ) from exc


def _query(path: str) -> dict[str, str]:
    _, _, query = path.partition("?")
    return dict(part.split("=", 1) for part in query.split("&") if "=" in part)


def _translate(method: str, path: str, exc: EngineError) -> SwarmError:
    status = exc.status
    text = exc.message or str(exc)
    where = f"{method} {path}"
    if status == 403:
        return Forbidden(f"{where}: refused (403); the socket proxy needs {proxy_setting_for(method, path)}", status)
    if status == 404 or text.endswith(" not found"):  # a network already gone answers 500 "... not found"
        return NotFound(f"{where}: not found: {text}", status)
    if status == 409:
        return NameTaken(f"{where}: {text}", status)
    if "out of sequence" in text:
        return VersionConflict(f"{where}: changed since it was observed", status)
    if "in use" in text:
        return InUse(f"{where}: {text}", status)
    return SwarmError(f"{where}: {text}", status)
