"""Notifications on the in-memory swarm, through real Apprise to a JSON receiver on 127.0.0.1:
a change that fails over several passes is said once, its recovery once, a repaired drift once;
the same condition is said again only after the repeat period; a hanging or failing service never
blocks the controller; URLs are read from a file or the environment."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import yaml

from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.journal import Entry, EntryKind, Journal
from reconciler.runtime.notify import ENV_URLS, NOTIFIED, Message, Notifier, message_for, read_notify_urls
from reconciler.swarm.fake import FakeSwarm
from tests.json_receiver import receiver

API = "reconciler.swarm/v1alpha1"
INSTANCE = "notify-test"


def write(folder: Path, label: str = "1") -> None:
    docs = [
        {"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}},
        {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"},
         "spec": {"image": "x:1", "networks": ["net"], "labels": {"v": label}}},
    ]  # fmt: skip
    (folder / "m.yaml").write_text(yaml.safe_dump_all(docs))


def wait_for(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not true within {timeout}s")
        time.sleep(0.02)


def test_one_message_for_a_repeated_failure_one_for_its_recovery_and_one_for_a_repaired_drift(tmp_path: Path) -> None:
    write(tmp_path)
    swarm = FakeSwarm(refused={"POST"})
    journal = Journal()
    ctl = Controller(ControllerConfig(tmp_path, instance=INSTANCE, watch=False, events=False), swarm, journal=journal)
    with receiver() as got:
        notifier = Notifier([got.url], repeat_s=3600)
        journal.subscribe(notifier.notify)
        notifier.start()
        for _ in range(4):  # the same failure, pass after pass
            ctl.pass_once()
        assert len([e for e in journal.entries() if e.kind is EntryKind.SYNC_FAILED]) == 4
        swarm.refused.clear()
        ctl.pass_once()  # the writes go through: recovered
        ctl.pass_once()
        service = next(s for s in swarm.snapshot().services if s["Spec"]["Name"] == "web")
        spec = {**service["Spec"], "Labels": {**service["Spec"]["Labels"], "v": "by-hand"}}
        swarm.update_service(service["ID"], service["Version"]["Index"], spec)  # a hand edit
        ctl.pass_once()  # repaired
        ctl.pass_once()  # nothing left
        wait_for(lambda: len(got.bodies) >= 3)
        time.sleep(0.5)  # anything more would have arrived by now
        notifier.stop()
    titles = got.titles()
    assert titles == ["sync failed Network/net", "sync recovered Network/net", "drift repaired Service/web"], titles
    first = got.bodies[0]
    assert "object: Network/net" in first["message"] and "revision: " in first["message"]
    assert "NETWORKS" in first["message"]  # the reason: the proxy setting the write needs
    assert first["type"] == "failure"


def entry(kind: EntryKind, key: str = "Service/web", seq: int = 1) -> Entry:
    return Entry(seq, 0.0, kind, key, "why", "abc123")


def test_the_same_condition_is_said_again_after_the_repeat_period_and_a_recovery_clears_it() -> None:
    sent: list[Message] = []
    now = [0.0]
    notifier = Notifier([], repeat_s=60, send=lambda m: sent.append(m) or True, clock=lambda: now[0])
    notifier.notify(entry(EntryKind.HEALTH_DEGRADED))
    notifier.notify(entry(EntryKind.HEALTH_DEGRADED))
    notifier.notify(entry(EntryKind.HEALTH_DEGRADED, key="Service/other"))  # another object: said
    now[0] = 61
    notifier.notify(entry(EntryKind.HEALTH_DEGRADED))  # the period is over: said again
    notifier.notify(entry(EntryKind.HEALTH_RECOVERED))
    notifier.notify(entry(EntryKind.HEALTH_DEGRADED))  # a new degradation after a recovery: said at once
    notifier.notify(entry(EntryKind.APPLIED))  # shown on the dashboard, not notified
    notifier.start()
    notifier.stop()
    assert [(m.title.split("] ")[1]) for m in sent] == [
        "health degraded Service/web",
        "health degraded Service/other",
        "health degraded Service/web",
        "health recovered Service/web",
        "health degraded Service/web",
    ]


def test_a_hanging_or_failing_service_never_blocks_the_caller() -> None:
    release = threading.Event()

    def hang(message: Message) -> bool:
        release.wait(10)
        raise RuntimeError("the service broke")

    notifier = Notifier([], repeat_s=0, send=hang, max_queue=2)
    notifier.start()
    began = time.monotonic()
    for seq in range(50):
        notifier.notify(entry(EntryKind.SYNC_FAILED, key=f"Service/s{seq}", seq=seq))
    assert time.monotonic() - began < 0.5
    assert notifier.dropped >= 40  # at most one being sent and two queued: the rest dropped
    release.set()
    wait_for(lambda: notifier.failed + notifier.dropped == 50)  # every message sent (and failed) or dropped
    notifier.stop()


def test_urls_come_from_a_file_or_the_environment(tmp_path: Path) -> None:
    path = tmp_path / "urls"
    path.write_text("# team chat\njson://127.0.0.1:9/\n\n  mailto://u:p@127.0.0.1  \n")
    assert read_notify_urls(path) == ["json://127.0.0.1:9/", "mailto://u:p@127.0.0.1"]
    assert read_notify_urls(None, {ENV_URLS: "json://127.0.0.1:1/, json://127.0.0.1:2/"}) == [
        "json://127.0.0.1:1/",
        "json://127.0.0.1:2/",
    ]
    assert read_notify_urls(None, {}) == []
    assert Notifier(["json://127.0.0.1:9/"]).urls == ["json://127.0.0.1:9/?cto=10&rto=10"]


def test_only_the_leader_speaks() -> None:
    sent: list[Message] = []
    leading = [False]
    notifier = Notifier([], send=lambda m: sent.append(m) or True, gate=lambda: leading[0])
    notifier.notify(entry(EntryKind.HEALTH_DEGRADED))  # a follower sees it too, and says nothing
    leading[0] = True
    notifier.notify(entry(EntryKind.LEADERSHIP, key=""))
    notifier.start()
    notifier.stop()
    assert [m.title for m in sent] == ["[swarm-reconciler] leadership changed"]


def test_every_notified_event_names_its_object_reason_and_revision() -> None:
    for kind in NOTIFIED:
        message = message_for(Entry(1, 0.0, kind, "Service/web", "because", "abc123"))
        assert message.title == f"[swarm-reconciler] {kind.value} Service/web"
        assert message.body == "object: Service/web\nreason: because\nrevision: abc123"
    about_all = message_for(Entry(1, 0.0, EntryKind.REVISION_REFUSED, "", "m.yaml:1:1: bad", None))
    assert about_all.title == "[swarm-reconciler] revision refused" and "(the controller)" in about_all.body
    assert about_all.severity == "error"
