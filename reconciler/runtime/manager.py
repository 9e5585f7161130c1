"""``RunSettings`` → a running controller process, and the way it ended → an exit code.

``Manager`` builds and owns every piece of ``reconciler run``: the logs, the engine connection (and a
second one, with a timeout inside the renew deadline, for the lease), the leader elector, the optional
Git sync with its poller and webhook, the metrics, the HTTP endpoints, the SIGTERM/SIGINT handlers and
the controller. ``run()`` starts them, runs the controller's loop on the calling thread until a signal,
``stop()`` or a lost lease ends it, stops them in order (releasing the lease after a clean stop) and
returns the exit code:

- ``EXIT_STOPPED`` (0): stopped by SIGTERM, SIGINT or ``stop()``;
- ``EXIT_CANNOT_START`` (2): a bad ``--listen``, an unreadable webhook secret, a bad Git URL or ref,
  lease timings that do not fit, no engine, or an address that cannot be bound. What can be checked
  without the engine is checked before it is reached;
- ``EXIT_LEASE_LOST`` (3): the lease was lost, so another replica may be writing already.

Called by ``reconciler.cli.run``; the log lines keep the logger name ``reconciler.run``.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any, Protocol

from reconciler.engine.planning import PlanOptions
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.dashboard import Dashboard, check_path_prefix, is_dashboard_path
from reconciler.runtime.git_poller import GitPoller
from reconciler.runtime.git_report import GitReport
from reconciler.runtime.git_sync import GitSync
from reconciler.runtime.http_endpoints import Answer
from reconciler.runtime.http_server import ControllerHTTP, parse_listen
from reconciler.runtime.journal import Journal
from reconciler.runtime.leader import LeaderElector
from reconciler.runtime.listen_errors import listen_error
from reconciler.runtime.logs import configure_logging
from reconciler.runtime.malloc_arenas import share_one_malloc_arena
from reconciler.runtime.metrics import Metrics
from reconciler.runtime.notify import Notifier, read_notify_urls
from reconciler.runtime.settings import RunSettings
from reconciler.runtime.webhooks import GitWebhook, read_webhook_secret
from reconciler.swarm import docker_api
from reconciler.swarm.docker_api import DockerSwarm
from reconciler.swarm.lease import LeaseStore
from reconciler.swarm.port import SwarmError

__all__ = ["EXIT_CANNOT_START", "EXIT_LEASE_LOST", "EXIT_STOPPED", "CannotStart", "Connect", "Manager"]

log = logging.getLogger("reconciler.run")

EXIT_STOPPED = 0
EXIT_CANNOT_START = 2
EXIT_LEASE_LOST = 3

_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class Connect(Protocol):
    """How the manager gets an Engine API client: ``reconciler.swarm.docker_api.connect``'s signature."""

    def __call__(self, docker_host: str | None, timeout: int = ...) -> DockerSwarm: ...


class CannotStart(Exception):
    """Why the controller cannot start; ``run`` logs it and returns ``EXIT_CANNOT_START``."""


@dataclass(frozen=True)
class _Pieces:
    """What ``Manager`` built and ``_serve`` runs; the HTTP endpoint is kept apart (it is started first)."""

    controller: Controller
    elector: LeaderElector | None
    sync: GitSync | None
    poller: GitPoller | None
    notifier: Notifier | None = None


class Manager:
    """Builds the controller's pieces from ``settings`` and runs them; single use.

    ``connect`` replaces the Engine API client factory (tests). With ``handle_signals`` (the default)
    ``run`` must be called on the main thread: SIGTERM and SIGINT then stop it, and the previous
    handlers are put back when it returns.
    """

    def __init__(
        self, settings: RunSettings, *, connect: Connect = docker_api.connect, handle_signals: bool = True
    ) -> None:
        self.settings = settings
        self.metrics = Metrics()
        self._connect = connect
        self._handle_signals = handle_signals
        self._stop = threading.Event()
        self._lost = threading.Event()
        self._clients: list[DockerSwarm] = []
        self._port: int | None = None

    def stop(self) -> None:
        """End ``run`` as SIGTERM does; thread-safe. Before ``run``, it makes ``run`` stop at once."""
        self._stop.set()

    @property
    def lease_lost(self) -> bool:
        """Whether this replica lost its lease (``run`` then returns ``EXIT_LEASE_LOST``)."""
        return self._lost.is_set()

    @property
    def port(self) -> int | None:
        """The bound HTTP port once listening (the real one when ``listen`` asks for port 0); None before."""
        return self._port

    def run(self) -> int:
        """Start everything, run until stopped, stop everything; the exit code."""
        s = self.settings
        share_one_malloc_arena()  # before any thread of ours allocates
        configure_logging(s.log_level)
        try:
            pieces, http = self._build()
            self._listen(http)
            self._port = http.port
        except CannotStart as exc:
            log.error("%s", exc)
            self._close_clients()
            return EXIT_CANNOT_START
        log.info("controller %s (instance %s) listening on port %d", s.identity, s.instance, http.port)
        with self._signals_handled():
            self._serve(pieces, http)
        self._close_clients()
        if self._lost.is_set():
            log.error("the lease was lost: stopped writing, exiting")
            return EXIT_LEASE_LOST
        return EXIT_STOPPED

    # -- building ---------------------------------------------------------------------------------

    def _build(self) -> tuple[_Pieces, ControllerHTTP]:
        s = self.settings
        # First what needs no engine, so that a typo neither waits for nor touches one.
        try:
            parse_listen(s.listen)
        except ValueError as exc:
            raise CannotStart(f"cannot start: {exc}") from None
        try:
            secret = read_webhook_secret(s.webhook_secret_file)
        except OSError as exc:
            raise CannotStart(
                f"cannot read the webhook secret {s.webhook_secret_file}: {exc.strerror or exc}"
            ) from None
        try:
            check_path_prefix(s.path_prefix)
        except ValueError as exc:
            raise CannotStart(f"cannot start: {exc}") from None
        journal = Journal()
        notifier = self._notifier()
        if notifier is not None:
            journal.subscribe(notifier.notify)
        sync: GitSync | None = None
        if s.git_url:
            try:
                sync = GitSync(s.git_url, s.git_ref, root=s.git_dir)
            except ValueError as exc:
                raise CannotStart(f"cannot start: {exc}") from None
            if s.manifests.is_absolute() or ".." in s.manifests.parts:
                # Joined to the checkout, either would name a folder outside the repository.
                raise CannotStart(
                    f"cannot start: with --git-url, --manifests ({s.manifests}) must be a folder inside the repository"
                )

        swarm = self._client()
        try:
            swarm.ping()
        except SwarmError as exc:
            raise CannotStart(f"cannot reach the engine: {exc}") from exc
        elector = self._elector() if s.leader_election else None
        if elector is None:
            self.metrics.set_leader(True)  # one replica, no lease: it always writes, as /status says
        config = ControllerConfig(
            sync.current_path / s.manifests if sync is not None else s.manifests,
            s.instance,
            PlanOptions(prune=s.prune, allow_empty=s.allow_empty, max_prune=s.max_prune),
            resync_s=s.resync_s,
            dependency_timeout_s=s.dependency_timeout_s,
            apply_workers=s.apply_workers,
            watch=s.git_url is None,  # a Git sync says itself when a revision is there
            checkout=sync.current_path if sync is not None else None,
        )
        poller: GitPoller | None = None
        controller = Controller(config, swarm, leadership=elector, metrics=self.metrics,
                                revision_of=(lambda: poller.revision if poller else None) if sync else None,
                                journal=journal)  # fmt: skip
        if notifier is not None:
            notifier.gate = lambda: controller.is_leader  # followers see the same events: one replica speaks
        if elector is not None:
            # Set before the elector's thread starts, so both callbacks see the controller.
            elector.on_started = lambda: self._on_leading(controller)
            elector.on_stopped = self._on_lease_lost
        if sync is not None:
            report = GitReport(journal, self.metrics)  # log line, counter, journal (dashboard, notifier)
            poller = GitPoller(sync, s.git_interval_s, on_revision=lambda sha: controller.wakeup.wake("git"),
                               on_error=report.failed, on_recovered=report.recovered, stop_event=self._stop)  # fmt: skip
        pieces = _Pieces(controller, elector, sync, poller, notifier)
        dashboard = Dashboard(lambda: self._dashboard_state(pieces), controller.object_detail, journal, s.path_prefix)

        def pages(path: str, query: str, headers: Mapping[str, str]) -> Answer | None:
            return dashboard.answer(path, query, headers) if is_dashboard_path(path) else None

        http = ControllerHTTP(
            s.listen,
            self.metrics,
            status=lambda: self._status(pieces),
            ready=controller.ready,
            healthy=lambda: not self._lost.is_set(),
            webhook=GitWebhook(secret, poller.trigger) if poller is not None else None,
            pages=pages,
        )
        return pieces, http

    def _notifier(self) -> Notifier | None:
        """The notifier for ``--notify-urls-file`` or ``$RECONCILER_NOTIFY_URLS``; None without URLs."""
        s = self.settings
        try:
            urls = read_notify_urls(s.notify_urls_file)
        except OSError as exc:
            raise CannotStart(
                f"cannot read the notification URLs {s.notify_urls_file}: {exc.strerror or exc}"
            ) from None
        if not urls:
            return None
        try:
            return Notifier(urls, s.notify_repeat_s)
        except ValueError as exc:
            raise CannotStart(f"cannot start: {exc}") from None

    def _client(self, timeout: int | None = None) -> DockerSwarm:
        """An Engine API client for ``--docker-host``; ``timeout`` in seconds, None: the client's default."""
        host = self.settings.docker_host
        try:
            client = self._connect(host) if timeout is None else self._connect(host, timeout=timeout)
        except SwarmError as exc:
            raise CannotStart(f"cannot reach the engine: {exc}") from exc
        self._clients.append(client)
        return client

    def _elector(self) -> LeaderElector:
        s = self.settings
        # Its own client, with a timeout well inside the renew deadline: a hung request must not
        # outlive the lease it is meant to keep.
        store = LeaseStore(self._client(timeout=max(1, int(s.renew_deadline_s / 2))))
        try:
            return LeaderElector(
                store, s.instance, s.identity, lease_s=s.lease_s, renew_deadline_s=s.renew_deadline_s, retry_s=s.retry_s
            )
        except ValueError as exc:
            raise CannotStart(f"cannot start: {exc}") from None

    def _listen(self, http: ControllerHTTP) -> None:
        try:
            http.start()
        except OSError as exc:
            raise CannotStart(listen_error(self.settings.listen, exc)) from exc

    # -- running ----------------------------------------------------------------------------------

    def _serve(self, pieces: _Pieces, http: ControllerHTTP) -> None:
        threads = []
        if pieces.elector is not None:
            threads.append(
                threading.Thread(target=pieces.elector.run, args=(self._stop,), name="leader-election", daemon=True)
            )
        if pieces.poller is not None:
            pieces.poller.start()
        if pieces.notifier is not None:
            pieces.notifier.start()
        for thread in threads:
            thread.start()
        try:
            pieces.controller.run(self._stop)
        finally:
            self._stop.set()
            if pieces.elector is not None and not self._lost.is_set():
                pieces.elector.release()
            for thread in threads:
                thread.join(timeout=5)
            if pieces.poller is not None:
                pieces.poller.stop()
            if pieces.notifier is not None:
                pieces.notifier.stop()
            http.stop()

    @contextlib.contextmanager
    def _signals_handled(self) -> Iterator[None]:
        if not self._handle_signals:
            yield
            return
        previous = {sig: signal.signal(sig, self._on_signal) for sig in _SIGNALS}
        try:
            yield
        finally:
            # Only after everything stopped: a second signal while stopping must not kill the process.
            for sig, handler in previous.items():
                if handler is not None:
                    signal.signal(sig, handler)

    def _close_clients(self) -> None:
        for client in self._clients:
            try:
                client.close()
            except Exception as exc:  # on the way out: not worth a failed exit
                log.debug("closing an Engine API client failed: %s", exc)
        self._clients.clear()

    # -- what the HTTP endpoints show -------------------------------------------------------------

    def _dashboard_state(self, pieces: _Pieces) -> dict[str, Any]:
        return self._status(pieces, pieces.controller.dashboard_state())

    def _status(self, pieces: _Pieces, report: dict[str, Any] | None = None) -> dict[str, Any]:
        s = self.settings
        report = pieces.controller.status() if report is None else report
        report.update(
            identity=s.identity,
            leader_identity=pieces.elector.leader_identity if pieces.elector else s.identity,
        )
        if pieces.sync is not None and pieces.poller is not None:
            poller = pieces.poller
            report["git"] = {
                "url": pieces.sync.url,
                "ref": s.git_ref,
                "revision": poller.revision,
                "last_error": str(poller.last_error) if poller.last_error else None,
            }
        return report

    # -- callbacks --------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    def _on_leading(self, controller: Controller) -> None:
        self.metrics.set_leader(True)
        log.info("became the leader")
        controller.wakeup.wake("leader")

    def _on_lease_lost(self) -> None:
        self.metrics.set_leader(False)
        self.metrics.count_error("lease")
        self._lost.set()
        self._stop.set()
