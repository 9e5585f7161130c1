"""``port.events(types)`` streams the swarm's events of those types (what wakes the controller):
create, update and remove of a service, each naming it; ``close()`` from another thread ends it."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.contract.conftest import ContractSwarm


class Reader:
    """Reads an event source in a thread into a queue; ``wait_for`` takes events with a bounded wait."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.events: queue.Queue[Any] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for event in self.source:
                self.events.put(event)
        except Exception as exc:  # a stream closed under it may end with an error: that is an end too
            self.events.put(exc)

    def wait_for(self, wanted: set[tuple[str, str, str]], timeout: float = 10.0) -> set[tuple[str, str, str]]:
        """``(type, action, name)`` triples seen, once all of ``wanted`` are, or the timeout passed."""
        deadline = time.monotonic() + timeout
        got = {self._key(e) for e in self.seen}
        while not wanted <= got:
            try:
                event = self.events.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
            if isinstance(event, Exception):
                raise event
            self.seen.append(event)
            got.add(self._key(event))
        return got

    @staticmethod
    def _key(event: dict[str, Any]) -> tuple[str, str, str]:
        return event["Type"], event["Action"], event["Actor"]["Attributes"].get("name", "")


@contextmanager
def reading(cs: ContractSwarm, types: list[str]) -> Iterator[Reader]:
    reader = Reader(cs.port.events(types))
    try:
        yield reader
    finally:
        reader.source.close()
        reader.thread.join(timeout=10)
        assert not reader.thread.is_alive(), "close() did not end the event stream"


def test_service_create_update_and_remove_are_events_naming_the_service(cs: ContractSwarm) -> None:
    name = cs.name("svc")
    with reading(cs, ["service"]) as reader:
        cs.write(cs.doc("Service", "svc", {"image": cs.image, "replicas": 0, "labels": {"v": "1"}}))
        cs.converge()
        cs.write(cs.doc("Service", "svc", {"image": cs.image, "replicas": 0, "labels": {"v": "2"}}))
        cs.converge()
        cs.write(cs.doc("Network", "other", {}))
        cs.converge(prune=True)
        wanted = {("service", action, name) for action in ("create", "update", "remove")}
        got = reader.wait_for(wanted)
        assert wanted <= got, got
    # Only the types asked for: the network's create was not sent to this subscriber.
    assert {e["Type"] for e in reader.seen} == {"service"}


def test_network_config_and_secret_writes_are_events(cs: ContractSwarm) -> None:
    (cs.folder / "pw.txt").write_text("pw\n")
    with reading(cs, ["network", "config", "secret"]) as reader:
        cs.write(
            cs.doc("Network", "net", {}),
            cs.doc("Config", "conf", {"data": "x\n"}),
            cs.doc("Secret", "pw", {"file": "pw.txt"}),
        )
        result = cs.converge()
        # (the plan also creates the instance's secret-name key, a config that is never removed)
        names = {c.kind.lower(): c.swarm_name for c in result.plan.changes if c.kind in ("Network", "Config", "Secret")}
        wanted = {(kind, "create", swarm_name) for kind, swarm_name in names.items()}
        got = reader.wait_for(wanted)
        assert wanted <= got, got
        cs.write(cs.doc("Service", "placeholder", {"image": cs.image, "replicas": 0}))
        cs.converge(prune=True)
        wanted = {(kind, "remove", swarm_name) for kind, swarm_name in names.items()}
        got = reader.wait_for(wanted)
        assert wanted <= got, got


def test_close_ends_a_stream_that_has_seen_nothing(cs: ContractSwarm) -> None:
    with reading(cs, ["service"]) as reader:
        assert reader.wait_for({("service", "create", "never")}, timeout=0.2) == set()
