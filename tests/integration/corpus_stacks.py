"""The compose corpus (``tests/data/compose``) deployed in the lab as people deploy it: the real
``docker stack deploy`` of the docker CLI, several stacks at once, and what a take-over must keep.

An entry's files go to ``docker stack deploy -c`` in the order ``compose.yml``, ``compose.prod.yml``
(an override), ``compose.lab.yml`` (the lab's variant where production needs what the lab lacks: 01's
NFS volumes, 02's docker socket and host ports 80/443); its ``.env`` is sourced into the CLI's
environment first, as people do (``docker stack deploy`` itself ignores ``.env``). What the corpus
declares ``external`` is made by hand beforehand, as its comments say, and removed afterwards if it
was made here.

``StackState`` is what a take-over must leave as it was: each service's ID and its ``Spec`` but the
labels (the ``TaskTemplate`` in it: swarmkit restarts a task whose spec differs), the labels that are
neither Traefik's (a Route rewrites them in v3 grammar) nor the reconciler's, the stack's networks,
and the IDs of the tasks it keeps (desired state running, or complete for a job).
"""

from __future__ import annotations

import contextlib
import copy
import subprocess
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
from dotenv import dotenv_values

CORPUS = Path(__file__).resolve().parents[1] / "data" / "compose"
ENTRIES = tuple(sorted(p.name for p in CORPUS.iterdir() if p.is_dir()))
FILE_ORDER = ("compose.yml", "compose.prod.yml", "compose.lab.yml")
NAMESPACE = "com.docker.stack.namespace"
#: Made by hand before a deploy, as the corpus comments say: web-servers (01, 02, 14), proxy_public (10).
EXTERNAL_NETWORKS = ("web-servers", "proxy_public")
EXTERNAL_VOLUMES = ("site-certs",)  # 06
EXTERNAL_SECRETS = ("site_tls_cert",)  # 06
#: Labels a take-over may change: Traefik's (Routes write them anew) and the reconciler's own.
CHANGING_LABELS = ("traefik.", "reconciler.swarm/")
#: Task states that need no replacement; a pending task whose error is this waits for a node, as planned.
KEPT_STATES = ("running", "starting", "complete")
UNPLACEABLE = "no suitable node"


def entry_files(entry: str) -> list[Path]:
    folder = CORPUS / entry
    return [folder / name for name in FILE_ORDER if (folder / name).is_file()]


@dataclass(frozen=True)
class StackState:
    """What a label-only take-over keeps: see the module docstring. Keys are Swarm names."""

    services: dict[str, str]
    specs: dict[str, dict[str, Any]]
    labels: dict[str, dict[str, str]]
    networks: dict[str, str]
    tasks: dict[str, frozenset[str]]

    def task_ids(self) -> set[str]:
        return set().union(*self.tasks.values()) if self.tasks else set()


@dataclass
class Stacks:
    """Corpus stacks deployed in one lab, removed with what they made (and the externals made here) by ``close``."""

    client: docker.DockerClient
    env: Mapping[str, str]
    deployed: dict[str, str] = field(default_factory=dict)  # stack -> entry
    made: list[tuple[str, str]] = field(default_factory=list)  # (kind, name) of externals made here
    left: list[str] = field(default_factory=list)  # what could not be removed

    def make_externals(self) -> None:
        api = self.client.api
        for name in EXTERNAL_NETWORKS:
            if not api.networks(names=[name]):
                api.create_network(name, driver="overlay", attachable=True)
                self.made.append(("network", name))
        for name in EXTERNAL_VOLUMES:
            if not any(v["Name"] == name for v in api.volumes().get("Volumes") or []):
                api.create_volume(name)
                self.made.append(("volume", name))
        for name in EXTERNAL_SECRETS:
            if not api.secrets(filters={"name": name}):
                api.create_secret(name, b"corpus certificate stand-in\n")
                self.made.append(("secret", name))

    def deploy(self, stacks: Mapping[str, str]) -> None:
        """``docker stack deploy`` each ``stack: entry`` at once (one CLI process each)."""
        self.deployed.update(stacks)
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in pool.map(lambda item: self._deploy(*item), stacks.items()):
                pass

    def _deploy(self, stack: str, entry: str) -> None:
        env = {**self.env, **{k: v for k, v in dotenv_values(CORPUS / entry / ".env").items() if v is not None}}
        argv = ["docker", "stack", "deploy", "--detach=true", "--resolve-image", "never"]
        for path in entry_files(entry):
            argv += ["-c", path.name]
        done = subprocess.run([*argv, stack], cwd=CORPUS / entry, env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"docker stack deploy {entry} as {stack}: {done.stderr}"

    def state(self, stack: str) -> StackState:
        api = self.client.api
        services = api.services(filters={"label": f"{NAMESPACE}={stack}"})
        ids = {s["Spec"]["Name"]: s["ID"] for s in services}
        kept = {
            s["Spec"]["Name"]: {
                t["ID"] for t in api.tasks(filters={"service": s["ID"]}) if t["DesiredState"] in ("running", "complete")
            }
            for s in services
        }
        return StackState(
            services=ids,
            specs={s["Spec"]["Name"]: _without_labels(s["Spec"]) for s in services},
            labels={s["Spec"]["Name"]: _lasting_labels(s["Spec"].get("Labels") or {}) for s in services},
            networks={n["Name"]: n["Id"] for n in api.networks(filters={"label": f"{NAMESPACE}={stack}"})},
            tasks={name: frozenset(found) for name, found in kept.items()},
        )

    def settled(self, stacks: Iterable[str], timeout: float = 90.0) -> dict[str, StackState]:
        """Each stack's state once every service of it has the tasks it asks for, each running (or starting:
        a health check's first run), complete, or pending for want of a node, twice in a row a second apart
        (a rejected task's replacement comes after the restart delay). All are watched at once."""
        deadline = time.monotonic() + timeout
        waiting, last, done = list(stacks), dict[str, StackState](), dict[str, StackState]()
        while waiting:
            problems = {}
            for stack in waiting:
                state, problem = self.state(stack), self._unsettled(stack)
                if problem is None and stack in last and state.tasks == last[stack].tasks:
                    done[stack] = state
                elif problem is None:
                    last[stack] = state
                else:
                    last.pop(stack, None)
                    problems[stack] = problem
            waiting = [s for s in waiting if s not in done]
            if waiting and time.monotonic() > deadline:
                raise AssertionError(f"stacks did not settle in {timeout:.0f} s: {problems}")
            if waiting:
                time.sleep(1.0)
        return done

    def _unsettled(self, stack: str) -> str | None:
        api = self.client.api
        for service in api.services(filters={"label": f"{NAMESPACE}={stack}"}, status=True):
            name, mode = service["Spec"]["Name"], service["Spec"]["Mode"]
            tasks = api.tasks(filters={"service": service["ID"]})
            if "ReplicatedJob" in mode or "GlobalJob" in mode:
                if not tasks or any(
                    t["Status"]["State"] != "complete" for t in tasks if t["DesiredState"] == "complete"
                ):
                    return f"{name}: job not complete"
                continue
            live = [t for t in tasks if t["DesiredState"] == "running"]
            bad = [
                f"{t['ID'][:8]} {t['Status']['State']} {t['Status'].get('Err', '')}"
                for t in live
                if t["Status"]["State"] not in KEPT_STATES and UNPLACEABLE not in t["Status"].get("Err", "")
            ]
            wanted = (service.get("ServiceStatus") or {}).get("DesiredTasks", 0)
            if bad or len(live) != wanted:
                return f"{name}: {len(live)} of {wanted} tasks, not settled: {bad}"
        return None

    def remove(self, stacks: Iterable[str], timeout: float = 60.0) -> None:
        """``docker stack rm`` them, then wait until their services are gone and remove what networks are left
        (a network stays while the last task on it stops, and then the CLI has given up on it)."""
        names = [s for s in stacks if s in self.deployed]
        if not names:
            return
        subprocess.run(["docker", "stack", "rm", *names], env=dict(self.env), capture_output=True, timeout=120)
        api, deadline = self.client.api, time.monotonic() + timeout
        for stack in names:  # a sleep as PID 1 ignores SIGTERM: spare the stop grace period (10 s)
            for container in api.containers(filters={"label": f"{NAMESPACE}={stack}"}):
                with contextlib.suppress(docker.errors.APIError):
                    api.kill(container["Id"])
        for stack in names:
            label = {"label": f"{NAMESPACE}={stack}"}
            while api.services(filters=label) and time.monotonic() < deadline:
                time.sleep(0.3)
            for network in api.networks(filters=label):
                if not _retry(lambda network=network: api.remove_network(network["Id"]), deadline):
                    self.left.append(f"network {network['Name']}")
            del self.deployed[stack]

    def close(self, removed: Iterable[str] = ()) -> None:
        """Remove every stack deployed here, their volumes (once no container holds them) and the externals
        made here; ``removed`` are stacks removed before (whose volumes are to go too)."""
        stacks = [*self.deployed, *removed]
        self.remove(list(self.deployed))
        api = self.client.api
        deadline = time.monotonic() + 60
        volumes = [
            v["Name"] for s in stacks for v in api.volumes(filters={"label": f"{NAMESPACE}={s}"}).get("Volumes") or []
        ]
        left = [*self.left]
        for name in [*volumes, *(name for kind, name in self.made if kind == "volume")]:
            # a stopped task's container holds its volume a while
            left += [] if _retry(lambda name=name: api.remove_volume(name), deadline) else [f"volume {name}"]
        for kind, name in self.made:
            remove = {"network": api.remove_network, "secret": api.remove_secret}.get(kind)
            if remove is not None and not _retry(lambda remove=remove, name=name: remove(name), deadline):
                left.append(f"{kind} {name}")
        assert not left, f"left in the lab, could not be removed: {left}"


def _retry(action: Any, deadline: float) -> bool:
    """Try ``action`` until it succeeds or finds nothing (True), or the deadline passes (False)."""
    while True:
        try:
            action()
            return True
        except docker.errors.NotFound:
            return True
        except docker.errors.APIError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.5)


def _without_labels(spec: dict[str, Any]) -> dict[str, Any]:
    rest = copy.deepcopy(spec)
    rest.pop("Labels", None)
    return rest


def _lasting_labels(labels: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if not k.startswith(CHANGING_LABELS)}


def differences(before: Any, after: Any, path: str = "") -> list[str]:
    """The paths where two decoded JSON values differ, with both values (for an assertion's message)."""
    if isinstance(before, dict) and isinstance(after, dict):
        return [
            d for k in sorted(set(before) | set(after)) for d in differences(before.get(k), after.get(k), f"{path}.{k}")
        ]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [
            d for i, (b, a) in enumerate(zip(before, after, strict=True)) for d in differences(b, a, f"{path}[{i}]")
        ]
    return [] if before == after else [f"{path or '.'}: {before!r} -> {after!r}"]
