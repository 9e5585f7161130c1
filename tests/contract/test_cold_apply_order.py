"""A cold apply of many services writes several at once (``engine.scheduling``), yet in a valid order:
every network, config and secret a service uses exists before the service is created, and a service
with ``dependsOn`` is created only after what it depends on has been created (and runs). Outcomes
and events come out in the plan's order. On both backends."""

from __future__ import annotations

import threading
from typing import Any

from reconciler.engine.events import ChangeFinished, Event
from reconciler.engine.planning import PlanOptions
from reconciler.engine.reconcile import reconcile_once
from reconciler.swarm.port import ApiObject, SwarmPort
from tests.contract.conftest import ContractSwarm

SERVICES = 16


class RecordingPort:
    """The backend's port, recording when each create began and ended (one sequence for all threads)."""

    def __init__(self, port: SwarmPort) -> None:
        self._port = port
        self._lock = threading.Lock()
        self.log: list[tuple[str, str]] = []  # ("begin" | "end", name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)

    def _record(self, what: str, name: str) -> None:
        with self._lock:
            self.log.append((what, name))

    def _create(self, call: Any, spec: ApiObject) -> str:
        self._record("begin", spec["Name"])
        try:
            return str(call(spec))
        finally:
            self._record("end", spec["Name"])

    def create_network(self, spec: ApiObject) -> str:
        return self._create(self._port.create_network, spec)

    def create_config(self, spec: ApiObject) -> str:
        return self._create(self._port.create_config, spec)

    def create_secret(self, spec: ApiObject) -> str:
        return self._create(self._port.create_secret, spec)

    def create_service(self, spec: ApiObject) -> str:
        return self._create(self._port.create_service, spec)

    def at(self, what: str, name: str) -> int:
        return self.log.index((what, name))


def test_cold_apply_of_many_services_creates_everything_in_a_valid_order(cs: ContractSwarm) -> None:
    documents = [
        cs.doc("Network", "net", {}),
        cs.doc("Config", "conf", {"data": "settings\n"}),
        cs.doc("Secret", "pw", {"file": "secret.txt"}),
        cs.doc("Service", "db", cs.sleeper(replicas=1, networks=[cs.name("net")], secrets=[{"name": cs.name("pw")}])),
    ]
    dependents: list[str] = []
    for i in range(SERVICES):
        spec: dict[str, Any] = {"image": cs.image, "replicas": 0, "networks": [cs.name("net")],
                                "configs": [{"name": cs.name("conf")}]}  # fmt: skip
        if i % 2:
            spec["dependsOn"] = [f"Service/{cs.name('db')}"]
            dependents.append(cs.name(f"app-{i:02d}"))
        documents.append(cs.doc("Service", f"app-{i:02d}", spec))
    cs.write(*documents)
    (cs.folder / "secret.txt").write_text("hunter2")
    port = RecordingPort(cs.port)
    events: list[Event] = []
    result = reconcile_once(port, cs.desired(), PlanOptions(), events.append, 60.0, workers=8)  # type: ignore[arg-type]
    assert result.converged, [(o.change.key, o.status, o.message) for o in result.applied.outcomes]

    # Everything was created, once.
    begun = [name for what, name in port.log if what == "begin"]
    # the network, config and secret, the db, the services, and the instance's secret-name key
    assert len(begun) == len(set(begun)) == 3 + 1 + SERVICES + 1
    key = next(n for n in begun if n.startswith("reconciler-name-key-"))
    config = next(n for n in begun if n.startswith(cs.name("conf") + "-"))
    secret = next(n for n in begun if n.startswith(cs.name("pw") + "-"))
    # Each service after what it uses; the dependents after the service they depend on.
    assert port.at("begin", cs.name("db")) > max(port.at("end", cs.name("net")), port.at("end", secret))
    assert port.at("begin", secret) > port.at("end", key)  # a secret named by a key waits for the key
    for i in range(SERVICES):
        name = cs.name(f"app-{i:02d}")
        assert port.at("begin", name) > max(port.at("end", cs.name("net")), port.at("end", config)), name
    for name in dependents:
        assert port.at("begin", name) > port.at("end", cs.name("db")), name

    # Outcomes and events in the plan's order.
    plan = result.plan
    assert [o.change.key for o in result.applied.outcomes] == [c.key for c in plan.changes]
    finished = [e.change.key for e in events if isinstance(e, ChangeFinished)]
    assert finished == [c.key for c in plan.changes if c.changes_something]
    assert cs.plan().in_sync
