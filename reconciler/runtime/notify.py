"""Journal entries a person must hear about → messages through Apprise (chat, mail, webhooks: any of
the services an Apprise URL names).

Sent: a change that failed (``sync failed``) and its recovery, health degraded or recovered, a drift
repaired, an object that does not converge, leadership gained or lost, a revision refused. Each
message names the object, the reason and the revision. The same condition — the same kind of event
about the same object — is said once and then not again for ``repeat_s`` (a failing change retried
every pass is one message, not one per pass); a recovery clears its condition, so the next failure
is said at once.

The controller's thread only puts a message on a bounded queue (``notify`` never blocks: when the
queue is full the message is dropped and counted); one worker thread sends them, with connect and
read timeouts on every URL. A service that fails is logged; one that hangs holds only the worker.
URLs come from a file (``--notify-urls-file``, e.g. a Swarm secret's path: one URL per line, ``#``
comments) or ``$RECONCILER_NOTIFY_URLS`` (separated by spaces or commas).
"""

from __future__ import annotations

import logging
import os
import queue
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from reconciler.runtime.journal import Entry, EntryKind

__all__ = ["DEFAULT_REPEAT_S", "ENV_URLS", "NOTIFIED", "Message", "Notifier", "message_for", "read_notify_urls"]

log = logging.getLogger(__name__)

ENV_URLS = "RECONCILER_NOTIFY_URLS"
DEFAULT_REPEAT_S = 3600.0
"""How long the same condition stays unsaid after it was said once (``--notify-repeat``)."""
NOTIFIED = frozenset(
    {
        EntryKind.SYNC_FAILED,
        EntryKind.SYNC_RECOVERED,
        EntryKind.HEALTH_DEGRADED,
        EntryKind.HEALTH_RECOVERED,
        EntryKind.DRIFT_REPAIRED,
        EntryKind.NOT_CONVERGING,
        EntryKind.LEADERSHIP,
        EntryKind.REVISION_REFUSED,
        EntryKind.GIT_FAILED,
        EntryKind.GIT_RECOVERED,
    }
)
"""The journal's kinds that become messages; the others (applied, progressing) are only shown."""

# A recovery clears the condition it ends, so that the next failure is said at once.
_CLEARS = {
    EntryKind.SYNC_RECOVERED: EntryKind.SYNC_FAILED,
    EntryKind.HEALTH_RECOVERED: EntryKind.HEALTH_DEGRADED,
    EntryKind.HEALTH_DEGRADED: EntryKind.HEALTH_RECOVERED,
    EntryKind.GIT_RECOVERED: EntryKind.GIT_FAILED,
}
_TIMEOUT_S = 10  # connect and read timeout of each service: a hanging one holds the worker this long
_QUEUE = 100


def read_notify_urls(path: Path | None, environ: dict[str, str] | None = None) -> list[str]:
    """The Apprise URLs from ``path`` (one a line, ``#`` comments) or, without it, ``$RECONCILER_NOTIFY_URLS``.
    Raises ``OSError`` when the file cannot be read."""
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    text = (environ if environ is not None else dict(os.environ)).get(ENV_URLS, "")
    return [url for url in re.split(r"[\s,]+", text) if url]


def _with_timeouts(url: str) -> str:
    """``url`` with Apprise's connect and read timeouts (``cto``, ``rto``) unless it sets them."""
    if re.search(r"[?&](cto|rto)=", url):
        return url
    return f"{url}{'&' if '?' in url else '?'}cto={_TIMEOUT_S}&rto={_TIMEOUT_S}"


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    severity: str  # info, warning or error


def message_for(entry: Entry) -> Message:
    """The message for ``entry``: the event and object in the title, reason and revision in the body."""
    about = f" {entry.key}" if entry.key else ""
    title = f"[swarm-reconciler] {entry.kind.value}{about}"
    lines = [f"object: {entry.key or '(the controller)'}", f"reason: {entry.reason or '-'}",
             f"revision: {entry.revision or 'unknown'}"]  # fmt: skip
    return Message(title, "\n".join(lines), entry.severity)


Send = Callable[[Message], bool]


class Notifier:
    """Subscribed to the journal (``notify``); sends on its own thread from ``start()`` to ``stop()``.
    ``send`` replaces the Apprise sender (tests); ``clock`` is monotonic seconds; only while ``gate()``
    holds is anything said (every replica observes the same swarm, only the leader speaks)."""

    def __init__(
        self,
        urls: Iterable[str],
        repeat_s: float = DEFAULT_REPEAT_S,
        *,
        send: Send | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_queue: int = _QUEUE,
        gate: Callable[[], bool] = lambda: True,
    ) -> None:
        self.urls = [_with_timeouts(u) for u in urls]
        self.repeat_s = repeat_s
        self._clock = clock
        self.gate = gate  # the manager sets it to "this replica leads": followers see the same events
        self._said: dict[tuple[EntryKind, str], float] = {}
        self._queue: queue.Queue[Message | None] = queue.Queue(maxsize=max_queue)
        self._thread: threading.Thread | None = None
        self.dropped = 0
        self.sent = 0
        self.failed = 0
        self._send = send if send is not None else self._apprise_sender()

    def _apprise_sender(self) -> Send:
        import apprise  # only with URLs to send to: a controller without notifications never loads it

        client = apprise.Apprise()
        for url in self.urls:
            if not client.add(url):
                raise ValueError(f"not an Apprise URL this version knows: {url.split(':', 1)[0]}://…")
        types = {"info": apprise.NotifyType.INFO, "warning": apprise.NotifyType.WARNING,
                 "error": apprise.NotifyType.FAILURE}  # fmt: skip

        def send(message: Message) -> bool:
            return bool(client.notify(title=message.title, body=message.body, notify_type=types[message.severity]))

        return send

    def notify(self, entry: Entry) -> None:
        """A journal listener: queue a message for ``entry`` if it is one to say; never blocks."""
        if entry.kind not in NOTIFIED or not self.gate():
            return
        now = self._clock()
        cleared = _CLEARS.get(entry.kind)
        if cleared is not None:
            self._said.pop((cleared, entry.key), None)
        condition = (entry.kind, entry.key)
        said = self._said.get(condition)
        if said is not None and now - said < self.repeat_s:
            return  # the same condition, said recently
        self._said[condition] = now
        try:
            self._queue.put_nowait(message_for(entry))
        except queue.Full:
            self.dropped += 1
            log.warning("notifications: the queue is full (a service is slow), dropped: %s", entry.kind.value)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="notifier", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Send what is queued for at most ``timeout`` seconds, then leave (the thread is a daemon)."""
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            return
        self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            message = self._queue.get()
            if message is None:
                return
            try:
                ok = self._send(message)
            except Exception:  # a service's failure is logged, never the controller's
                log.exception("notification failed: %s", message.title)
                ok = False
            if ok:
                self.sent += 1
            else:
                self.failed += 1
                log.warning("notification not delivered: %s", message.title)
