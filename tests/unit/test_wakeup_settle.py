"""``Wakeup`` (``runtime.triggers``): a burst of Docker events is let settle before the pass; a
manifest change, which the file watcher already debounced, is not held back a second time."""

from __future__ import annotations

import threading

from reconciler.runtime.triggers import Wakeup


class RecordingStop(threading.Event):
    """A stop event that records each wait it is asked for instead of sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float | None] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout)
        return self.is_set()


def test_events_settle_and_a_debounced_manifest_change_does_not_wait_again() -> None:
    wakeup, stop = Wakeup(), RecordingStop()
    wakeup.wake("event:service")
    assert wakeup.wait(stop, settle_s=0.25) == {"event:service"}
    assert stop.waits == [0.25]

    stop.waits.clear()
    wakeup.wake("event:service")
    wakeup.wake("manifests", settled=True)
    assert wakeup.wait(stop, settle_s=0.25) == {"event:service", "manifests"}
    assert stop.waits == []

    wakeup.wake("resync")  # the settled mark went with the reasons it came with
    assert wakeup.wait(stop, settle_s=0.25) == {"resync"}
    assert stop.waits == [0.25]
