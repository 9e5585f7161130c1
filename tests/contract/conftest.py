"""The contract suite: the same behaviour tests against the in-memory ``FakeSwarm`` (the fast layer)
and against the lab's real engine (the ``lab`` layer).

Every test takes the ``cs`` fixture ("contract swarm"), parametrised over the two backends. It
drives the engine only through the ``SwarmPort`` and the engine's public API (``reconcile_once``,
``plan_once``, ``PlanOptions``), so a test cannot tell which backend it runs on. Where the real
engine is slower (tasks start, a removed network lingers while its tasks stop), tests wait with
bounded polls (``cs.eventually``) rather than asking which backend they have.

On the lab each test gets its own instance name and object-name prefix (as ``ws`` does in
``tests/integration``), and everything it made is removed afterwards.
"""

from __future__ import annotations

import copy
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import docker
import pytest

from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import Result, plan_once, reconcile_once
from reconciler.state.plan import Change, Plan
from reconciler.swarm.docker_api import connect
from reconciler.swarm.fake import FakeSwarm
from reconciler.swarm.port import ApiObject, SwarmPort, VersionConflict
from tests.integration.conftest import cleanup_instance
from tests.lab import Lab
from tests.lab.images import ensure_busybox_image
from tests.manifest_folder import ManifestFolder, running_task_ids

FAKE_IMAGE = "contract/any-image:1"  # the fake runs any image
T = TypeVar("T")

BACKENDS = [pytest.param("fake", id="fake"), pytest.param("lab", id="lab", marks=pytest.mark.lab)]


@pytest.fixture(scope="session")
def lab_image(lab: Lab) -> str:
    """An image whose tasks really run on the lab (``sleep`` included)."""
    return ensure_busybox_image(lab.env())


@dataclass
class ContractSwarm(ManifestFolder):
    """One test's swarm (fake or lab), manifest folder, instance and names, with helpers that work
    the same on both backends."""

    backend: str
    port: SwarmPort
    folder: Path
    instance: str
    prefix: str
    image: str
    client: docker.DockerClient | None = None  # the lab only: to read tasks and volumes
    subnet_seed: int = 0
    _plans: list[Plan] = field(default_factory=list, repr=False)

    # -- manifests --------------------------------------------------------------------------------

    # name, doc, write and desired: ManifestFolder's

    def key(self, kind: str, base: str) -> str:
        return f"{kind}/{self.name(base)}"

    def subnet(self, index: int) -> str:
        """A /24 of this test's own (tests on the shared lab must not overlap)."""
        return f"10.{240 + index}.{self.subnet_seed}.0/24"

    def sleeper(self, **spec: Any) -> dict[str, Any]:
        """A service spec whose tasks keep running on both backends (and stop within a second)."""
        return {"image": self.image, "args": ["sleep", "3600"], "stopGracePeriod": "1s", **spec}

    # -- the engine -------------------------------------------------------------------------------

    def plan(self, folder: Path | None = None, **options: Any) -> Plan:
        _, plan = plan_once(self.port, self.desired(folder), PlanOptions(**options))
        return plan

    def reconcile(
        self,
        folder: Path | None = None,
        port: SwarmPort | None = None,
        dependency_timeout: float = 30.0,
        **options: Any,
    ) -> Result:
        return reconcile_once(
            port or self.port, self.desired(folder), PlanOptions(**options), dependency_timeout=dependency_timeout
        )

    def converge(self, **options: Any) -> Result:
        result = self.reconcile(**options)
        assert result.converged, [(o.change.key, o.status, o.message) for o in result.applied.outcomes]
        return result

    def change(self, plan: Plan, kind: str, base: str, old_version: bool = False) -> Change:
        """The plan's change of a manifest's object (``old_version``: the removal of a config's or
        secret's previous version, which has the same key)."""
        key = self.key(kind, base)
        [found] = [c for c in plan.changes if c.key == key and ("old version" in c.reason) == old_version]
        return found

    # -- the swarm, through the port --------------------------------------------------------------

    def service(self, name: str) -> ApiObject | None:
        """The live service of that Swarm name (``name(base)`` for a manifest's), or None."""
        return next((s for s in self.port.snapshot().services if s["Spec"]["Name"] == name), None)

    def network(self, name: str) -> ApiObject | None:
        return next((n for n in self.port.snapshot().networks if n["Name"] == name), None)

    def names(self, swarm_kind: str, base: str) -> set[str]:
        """Swarm names of this kind that are, or start with, ``name(base)`` (configs and secrets
        are named ``<name>-<hash8>``)."""
        snapshot = self.port.snapshot()
        if swarm_kind == "network":
            names = [n["Name"] for n in snapshot.networks]
        else:
            names = [o["Spec"]["Name"] for o in getattr(snapshot, f"{swarm_kind}s")]
        wanted = self.name(base)
        return {n for n in names if n == wanted or n.startswith(wanted + "-")}

    def hand_edit_service(self, base: str, mutate: Callable[[dict[str, Any]], None]) -> None:
        """Change the live service of a manifest (``name(base)``) behind the reconciler's back, as
        a person would, through the port (so it works on both backends): read it, change
        its spec, send the whole spec back with the version read. A real engine writes a service
        itself for a moment after it was created or updated (allocation, update status), so a
        version that went stale meanwhile is read again, a few times, as a person would."""
        for attempt in range(5):
            live = self.service(self.name(base))
            assert live is not None, base
            spec = copy.deepcopy(live["Spec"])
            mutate(spec)
            try:
                self.port.update_service(live["ID"], live["Version"]["Index"], spec)
                return
            except VersionConflict:
                if attempt == 4:
                    raise
                time.sleep(0.2)

    def task_ids(self, base: str, running: int = 1, timeout: float = 30.0) -> set[str]:
        """IDs of the running tasks of a manifest's service (``name(base)``), once at least
        ``running`` of them run (or the timeout passes): the fake's at once, the lab's through the
        docker client."""
        name = self.name(base)
        if isinstance(self.port, FakeSwarm):
            return self.port.task_ids(name)
        assert self.client is not None
        return running_task_ids(self.client, name, running, timeout)

    def volume_names(self) -> set[str]:
        return {v["Name"] for v in self.port.snapshot().volumes}

    def eventually(self, probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.2) -> T:
        """``probe()``'s first truthy answer, polling for at most ``timeout`` seconds (the fake
        answers at once; the lab's tasks and network removals take a moment). Returns the last
        answer when time runs out, for the caller's assert to show."""
        deadline = time.monotonic() + timeout
        while True:
            answer = probe()
            if answer or time.monotonic() > deadline:
                return answer
            time.sleep(interval)


@pytest.fixture(params=BACKENDS)
def cs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ContractSwarm]:
    token = secrets.token_hex(3)
    folder = tmp_path / "manifests"
    folder.mkdir()
    names = {"instance": f"test-{token}", "prefix": f"t{token}", "subnet_seed": int(token[:2], 16)}
    if request.param == "fake":
        yield ContractSwarm("fake", FakeSwarm(), folder, image=FAKE_IMAGE, **names)  # type: ignore[arg-type]
        return
    lab: Lab = request.getfixturevalue("lab")
    client: docker.DockerClient = request.getfixturevalue("docker_client")
    image: str = request.getfixturevalue("lab_image")
    port = connect(lab.base_url)
    swarm = ContractSwarm("lab", port, folder, image=image, client=client, **names)  # type: ignore[arg-type]
    try:
        yield swarm
    finally:
        cleanup_instance(client, swarm.instance, swarm.prefix)
        _remove_volumes(client, swarm.prefix)
        port.close()


def _remove_volumes(client: docker.DockerClient, prefix: str) -> None:
    """Volumes that this test's tasks made (``<prefix>-<name>-<hash8>``), once their containers are gone."""
    for volume in client.api.volumes().get("Volumes") or []:
        if not volume["Name"].startswith(prefix + "-"):
            continue
        for _ in range(100):
            try:
                client.api.remove_volume(volume["Name"])
                break
            except docker.errors.NotFound:
                break
            except docker.errors.APIError:
                time.sleep(0.2)
