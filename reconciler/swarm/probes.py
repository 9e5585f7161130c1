"""``reconciler doctor``'s checks: is the engine there, which API version, is this a swarm manager,
and does the socket proxy allow every request the reconciler makes?

Each permission is probed with a harmless request: a GET of a list, or a write aimed at an object
that does not exist (the engine answers 404 when the proxy let it through, the proxy 403 when not).
Nothing is created or changed. Called by the CLI's ``doctor`` command.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from reconciler.swarm.docker_api import DockerSwarm, proxy_setting_for
from reconciler.swarm.port import EngineUnavailable, Forbidden, NotFound, SwarmError

__all__ = ["MIN_API_VERSION", "Check", "run_checks"]

MIN_API_VERSION = (1, 41)  # Engine 20.10: config templates, CapabilityAdd/Drop, MaxReplicas
_ABSENT = "swarm-reconciler-doctor-probe-absent"

_READS = (
    "/_ping",
    "/version",
    "/info",
    "/services",
    "/tasks",
    "/nodes",
    "/networks",
    "/configs",
    "/secrets",
    "/volumes",
)
_WRITES = (
    ("POST", f"/services/{_ABSENT}/update?version=1"),
    ("DELETE", f"/services/{_ABSENT}"),
    ("DELETE", f"/networks/{_ABSENT}"),
    ("POST", f"/configs/{_ABSENT}/update?version=1"),
    ("DELETE", f"/configs/{_ABSENT}"),
    ("POST", f"/secrets/{_ABSENT}/update?version=1"),
    ("DELETE", f"/secrets/{_ABSENT}"),
    ("DELETE", f"/volumes/{_ABSENT}"),
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def run_checks(swarm: DockerSwarm) -> list[Check]:
    checks: list[Check] = []
    try:
        swarm.ping()
    except SwarmError as exc:
        return [Check("engine reachable", False, str(exc))]
    checks.append(Check("engine reachable", True, "answers _ping"))
    checks.append(_api_version(swarm))
    checks += _swarm_role(swarm)
    checks += [_read(swarm, path) for path in _READS[1:]]
    checks.append(_events(swarm))
    checks += [_write(swarm, method, path) for method, path in _WRITES]
    return checks


def _api_version(swarm: DockerSwarm) -> Check:
    version = swarm.api_version
    parts = tuple(int(p) for p in version.split("."))
    ok = parts >= MIN_API_VERSION
    want = ".".join(map(str, MIN_API_VERSION))
    return Check("API version", ok, f"{version} (needs {want} or newer: Docker Engine 20.10+)")


def _swarm_role(swarm: DockerSwarm) -> list[Check]:
    try:
        info = swarm.get("/info")
    except SwarmError as exc:
        return [Check("swarm active", False, str(exc))]
    state = info.get("Swarm", {}).get("LocalNodeState", "")
    manager = bool(info.get("Swarm", {}).get("ControlAvailable"))
    return [
        Check("swarm active", state == "active", f"LocalNodeState={state or 'unknown'}"),
        Check(
            "node is a manager",
            manager,
            "this node manages the swarm" if manager else "services can only be changed on a manager: run on one",
        ),
    ]


def _read(swarm: DockerSwarm, path: str) -> Check:
    name = f"GET {path}"
    try:
        swarm.get(path)
    except Forbidden:
        return Check(name, False, f"refused: set {proxy_setting_for('GET', path)} in the socket proxy")
    except SwarmError as exc:
        return Check(name, False, str(exc))
    return Check(name, True, "allowed")


def _events(swarm: DockerSwarm) -> Check:
    now = int(time.time())
    return _read_params(swarm, "/events", {"since": now - 1, "until": now})


def _read_params(swarm: DockerSwarm, path: str, params: dict[str, int]) -> Check:
    name = f"GET {path}"
    try:
        swarm.raw_request("GET", path, params)
    except Forbidden:
        return Check(name, False, f"refused: set {proxy_setting_for('GET', path)} in the socket proxy")
    except SwarmError as exc:
        return Check(name, False, str(exc))
    return Check(name, True, "allowed")


def _write(swarm: DockerSwarm, method: str, path: str) -> Check:
    name = f"{method} {path.split('?')[0].replace(_ABSENT, '{id}')}"
    try:
        swarm.raw_request(method, path)
    except NotFound:
        return Check(name, True, "allowed (probed with an object that does not exist)")
    except Forbidden:
        return Check(name, False, f"refused: set {proxy_setting_for(method, path)} in the socket proxy")
    except EngineUnavailable as exc:
        return Check(name, False, str(exc))
    except SwarmError as exc:
        # Any answer from the engine itself (400, 500) means the proxy let the request through.
        return Check(name, True, f"allowed (engine answered {exc.status})")
    return Check(name, True, "allowed")
