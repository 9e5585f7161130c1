"""``reconciler run --manifests PATH``: the controller. Wires the pieces of ``reconciler.runtime``:
the loop, leader election on a Swarm config lease, the optional Git sync and its webhook, the HTTP
endpoints, structured logs and signals. Exits 0 on SIGTERM/SIGINT (after releasing the lease), 3
when the lease was lost (another replica may be writing already), 2 when it cannot start.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click

from reconciler.cli.context import EXIT_ERROR, settings
from reconciler.engine.planning import PlanOptions
from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.git_command import GitSyncError
from reconciler.runtime.git_poller import GitPoller
from reconciler.runtime.git_sync import GitSync
from reconciler.runtime.http_server import ControllerHTTP
from reconciler.runtime.leader import LeaderElector
from reconciler.runtime.logs import configure_logging
from reconciler.runtime.metrics import Metrics
from reconciler.runtime.webhooks import verify_signature
from reconciler.swarm.docker_api import connect
from reconciler.swarm.lease import LeaseStore
from reconciler.swarm.port import SwarmError

EXIT_LEASE_LOST = 3
log = logging.getLogger("reconciler.run")


@click.command()
@click.option(
    "--manifests",
    type=click.Path(path_type=Path),
    default=Path("."),
    show_default=True,
    help="The manifest folder; with --git-url, a folder inside the repository.",
)
@click.option("--listen", default=":9100", show_default=True, help="Address of /healthz, /readyz, /metrics, /status.")
@click.option(
    "--resync", type=click.FloatRange(min=1), default=60.0, show_default=True, help="Seconds between full passes."
)
@click.option("--prune", is_flag=True, help="Delete managed objects no longer in the manifests.")
@click.option("--allow-empty", is_flag=True, help="Allow pruning when the manifest set is empty.")
@click.option("--max-prune", type=click.IntRange(min=0), default=10, show_default=True)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=120.0,
    show_default=True,
    help="Seconds to wait for a dependency's tasks to run.",
)
@click.option("--git-url", help="Clone and follow this repository instead of reading a folder that is synced.")
@click.option("--git-ref", default="main", show_default=True)
@click.option("--git-interval", type=click.FloatRange(min=1), default=60.0, show_default=True)
@click.option(
    "--git-dir",
    type=click.Path(path_type=Path),
    default=Path("/var/lib/reconciler/git"),
    show_default=True,
    help="Where the Git sync keeps its revisions.",
)
@click.option(
    "--webhook-secret-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="HMAC secret for POST /hooks/git (GitHub's X-Hub-Signature-256); also $RECONCILER_WEBHOOK_SECRET.",
)
@click.option(
    "--identity", default=lambda: f"{socket.gethostname()}-{os.getpid()}", help="This replica's name in the lease."
)
@click.option("--lease", "lease_s", type=click.FloatRange(min=1), default=15.0, show_default=True)
@click.option("--renew-deadline", "renew_s", type=click.FloatRange(min=0.5), default=10.0, show_default=True)
@click.option("--retry", "retry_s", type=click.FloatRange(min=0.1), default=2.0, show_default=True)
@click.option("--no-leader-election", is_flag=True, help="Write without a lease (one replica only).")
@click.option(
    "--log-level", default="info", show_default=True, type=click.Choice(["debug", "info", "warning", "error"])
)
@click.pass_context
def run(ctx: click.Context, manifests: Path, listen: str, resync: float, prune: bool, allow_empty: bool, max_prune: int,
        timeout: float, git_url: str | None, git_ref: str, git_interval: float, git_dir: Path,
        webhook_secret_file: Path | None, identity: str, lease_s: float, renew_s: float, retry_s: float,
        no_leader_election: bool, log_level: str) -> None:  # fmt: skip
    """Run the controller: converge the swarm continuously to the manifests."""
    conf = settings(ctx)
    configure_logging(log_level)
    stop, lost = threading.Event(), threading.Event()
    try:
        swarm = connect(conf.docker_host)
        swarm.ping()
    except SwarmError as exc:
        log.error("cannot reach the engine: %s", exc)
        ctx.exit(EXIT_ERROR)
    metrics = Metrics()

    poller: GitPoller | None = None
    if git_url:
        sync = GitSync(git_url, git_ref, root=git_dir)
        manifests = sync.current_path / manifests
    config = ControllerConfig(
        manifests, conf.instance, PlanOptions(prune=prune, allow_empty=allow_empty, max_prune=max_prune),
        resync_s=resync, dependency_timeout_s=timeout, watch=git_url is None,
    )  # fmt: skip
    elector: LeaderElector | None = None
    if not no_leader_election:
        elector = LeaderElector(
            # Its own client, with a timeout well inside the renew deadline: a hung request must not
            # outlive the lease it is meant to keep.
            LeaseStore(connect(conf.docker_host, timeout=max(1, int(renew_s / 2)))), conf.instance, identity, lease_s=lease_s, renew_deadline_s=renew_s, retry_s=retry_s,
            on_started=lambda: _leading(metrics, controller, True),
            on_stopped=lambda: _lost(metrics, lost, stop),
        )  # fmt: skip
    controller = Controller(config, swarm, leadership=elector, metrics=metrics,
                            revision_of=(lambda: poller.revision if poller else None) if git_url else None)  # fmt: skip
    if git_url:
        poller = GitPoller(sync, git_interval, on_revision=lambda sha: controller.wakeup.wake("git"),
                           on_error=lambda exc: _git_failed(metrics, exc), stop_event=stop)  # fmt: skip
    secret = _webhook_secret(webhook_secret_file)

    def status() -> dict[str, Any]:
        report = controller.status()
        report.update(identity=identity, leader_identity=elector.leader_identity if elector else identity)
        if poller is not None:
            report["git"] = {"url": sync.url, "ref": git_ref, "revision": poller.revision,
                             "last_error": str(poller.last_error) if poller.last_error else None}  # fmt: skip
        return report

    def webhook(body: bytes, headers: Mapping[str, str]) -> tuple[int, str]:
        if secret is not None and not verify_signature(secret, body, headers.get("X-Hub-Signature-256")):
            log.warning("webhook refused: bad or missing signature")
            return 401, "bad signature\n"
        assert poller is not None
        poller.trigger()
        return 202, "sync triggered\n"

    http = ControllerHTTP(listen, metrics, status, ready=controller.ready, healthy=lambda: not lost.is_set(),
                          webhook=webhook if poller is not None else None)  # fmt: skip
    http.start()
    log.info("controller %s (instance %s) listening on port %d", identity, conf.instance, http.port)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    threads = []
    if elector is not None:
        threads.append(threading.Thread(target=elector.run, args=(stop,), name="leader-election", daemon=True))
    if poller is not None:
        poller.start()
    for thread in threads:
        thread.start()
    try:
        controller.run(stop)
    finally:
        stop.set()
        if elector is not None and not lost.is_set():
            elector.release()
        for thread in threads:
            thread.join(timeout=5)
        if poller is not None:
            poller.stop()
        http.stop()
    if lost.is_set():
        log.error("the lease was lost: stopped writing, exiting")
        ctx.exit(EXIT_LEASE_LOST)


def _leading(metrics: Metrics, controller: Controller, leading: bool) -> None:
    metrics.set_leader(leading)
    log.info("became the leader")
    controller.wakeup.wake("leader")


def _lost(metrics: Metrics, lost: threading.Event, stop: threading.Event) -> None:
    metrics.set_leader(False)
    metrics.count_error("lease")
    lost.set()
    stop.set()


def _git_failed(metrics: Metrics, exc: Exception) -> None:
    metrics.count_error("git")
    log.error("git sync failed (the last good revision stays): %s", exc)


def _webhook_secret(path: Path | None) -> bytes | None:
    if path is not None:
        return path.read_bytes().strip()
    value = os.environ.get("RECONCILER_WEBHOOK_SECRET")
    return value.encode() if value else None


__all__ = ["EXIT_LEASE_LOST", "GitSyncError", "run"]
