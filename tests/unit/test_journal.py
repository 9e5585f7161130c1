"""The event journal: bounded, newest first, filtered per object and by sequence; a failing listener
does not stop the recording; and what the controller records on the in-memory swarm: one refusal per
refused revision, leadership gained and lost, health degraded and recovered."""

from __future__ import annotations

from pathlib import Path

import yaml

from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.journal import Entry, EntryKind, Journal
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"


def test_the_journal_keeps_the_last_entries_newest_first_and_filters() -> None:
    journal = Journal(capacity=3)
    for i in range(5):
        journal.record(EntryKind.APPLIED, f"Service/s{i % 2}", f"change {i}")
    entries = journal.entries()
    assert [e.reason for e in entries] == ["change 4", "change 3", "change 2"]
    assert [e.reason for e in journal.entries(key="Service/s0")] == ["change 4", "change 2"]
    assert [e.reason for e in journal.entries(since=4)] == ["change 4"]
    assert journal.last_seq == 5 and entries[0].as_json()["severity"] == "info"


def test_a_failing_listener_does_not_stop_the_recording() -> None:
    journal = Journal()
    seen: list[Entry] = []

    def broken(entry: Entry) -> None:
        raise RuntimeError("bug")

    journal.subscribe(broken)
    journal.subscribe(seen.append)
    journal.record(EntryKind.ERROR, reason="x")
    assert len(seen) == 1 and len(journal.entries()) == 1


class Flag:
    def __init__(self) -> None:
        self.is_leader = True


def test_the_controller_records_refusals_once_and_leadership_changes(tmp_path: Path) -> None:
    doc = {"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(doc))
    leadership = Flag()
    ctl = Controller(ControllerConfig(tmp_path, instance="j", watch=False, events=False), FakeSwarm(),
                     leadership=leadership)  # fmt: skip
    ctl.pass_once()
    (tmp_path / "m.yaml").write_text("kind: Nope\n")
    for _ in range(3):
        ctl.pass_once()
    leadership.is_leader = False
    ctl.pass_once()
    kinds = [e.kind for e in reversed(ctl.journal.entries())]
    assert kinds.count(EntryKind.REVISION_REFUSED) == 1
    assert [e.reason for e in ctl.journal.entries() if e.kind is EntryKind.LEADERSHIP] == [
        "this replica is no longer the leader",
        "this replica became the leader",
    ]
    assert EntryKind.APPLIED in kinds and EntryKind.REVISION_APPLIED in kinds
