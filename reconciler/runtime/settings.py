"""The options of ``reconciler run`` → one frozen ``RunSettings`` value.

``reconciler.cli.run`` turns its click options (and the group's ``--docker-host`` and ``--instance``)
into a ``RunSettings`` and hands it to ``reconciler.runtime.manager.Manager``, which builds the
controller's pieces from it. The field defaults are the option defaults: the CLI reads them from here,
so there is one place to change them. Durations are in seconds (the ``_s`` suffix), paths are
``pathlib.Path``. Nothing is checked here beyond the types; the manager refuses what cannot start.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.engine.scheduling import DEFAULT_WORKERS

__all__ = ["LOG_LEVELS", "RunSettings", "default_identity"]

LOG_LEVELS = ("debug", "info", "warning", "error")
"""The values ``log_level`` takes (``--log-level``)."""


def default_identity() -> str:
    """This replica's name in the lease when ``--identity`` is not given: ``<hostname>-<pid>``."""
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True)
class RunSettings:
    """Everything ``reconciler run`` is told, with the CLI's defaults."""

    # -- where the manifests come from and where the engine is --------------------------------------
    manifests: Path = Path(".")
    """The manifest folder (``--manifests``); with ``git_url``, a folder inside the repository."""
    docker_host: str | None = None
    """Engine or socket-proxy address (the group's ``--docker-host``); None: the environment's default."""
    instance: str = "reconciler"
    """Owner name written in managed-by labels and in the lease's name (the group's ``--instance``)."""

    # -- the loop -----------------------------------------------------------------------------------
    resync_s: float = 60.0
    """Seconds between full passes (``--resync``)."""
    prune: bool = False
    """Delete managed objects no longer in the manifests (``--prune``)."""
    allow_empty: bool = False
    """Allow pruning when the manifest set is empty (``--allow-empty``)."""
    max_prune: int = 10
    """The most objects one pass may delete (``--max-prune``)."""
    dependency_timeout_s: float = 120.0
    """Seconds to wait for a dependency's tasks to run (``--timeout``)."""
    apply_workers: int = DEFAULT_WORKERS
    """Changes written at once where they are independent, in dependency order (``--apply-workers``;
    1 writes one after another; at most ``MAX_WORKERS``, the engine client's pool)."""

    # -- HTTP and logs ------------------------------------------------------------------------------
    listen: str = ":9100"
    """Address of /healthz, /readyz, /metrics, /status (``--listen``): ``:port``, ``host:port``, ``[v6]:port``."""
    log_level: str = "info"
    """One of ``LOG_LEVELS`` (``--log-level``)."""

    # -- the optional Git sync ----------------------------------------------------------------------
    git_url: str | None = None
    """Clone and follow this repository (``--git-url``); None: read ``manifests`` as it is (and watch it)."""
    git_ref: str = "main"
    """The branch, tag or ref followed (``--git-ref``)."""
    git_interval_s: float = 60.0
    """Seconds between polls of ``git_url`` (``--git-interval``); the webhook syncs at once."""
    git_dir: Path = Path("/var/lib/reconciler/git")
    """Where the Git sync keeps its revisions (``--git-dir``)."""
    webhook_secret_file: Path | None = None
    """File holding the HMAC secret for ``POST /hooks/git`` (``--webhook-secret-file``); None: the
    environment's ``$RECONCILER_WEBHOOK_SECRET``, and without it webhooks are not verified."""

    # -- the dashboard and notifications -----------------------------------------------------------
    path_prefix: str = ""
    """The dashboard's path behind a proxy that strips it (``--path-prefix``, e.g. ``/reconciler``);
    empty: links are relative (or from the request's ``X-Forwarded-Prefix``)."""
    notify_urls_file: Path | None = None
    """Apprise URLs, one a line (``--notify-urls-file``, e.g. a Swarm secret's path); None: the
    environment's ``$RECONCILER_NOTIFY_URLS``, and without it no notifications."""
    notify_repeat_s: float = 3600.0
    """Seconds the same condition stays unsaid after a notification (``--notify-repeat``)."""

    # -- leader election ----------------------------------------------------------------------------
    leader_election: bool = True
    """Hold a lease before writing; False (``--no-leader-election``) for a single replica."""
    identity: str = field(default_factory=default_identity)
    """This replica's name in the lease (``--identity``)."""
    lease_s: float = 15.0
    """Seconds a lease lasts without renewal (``--lease``)."""
    renew_deadline_s: float = 10.0
    """Seconds a leader may go without renewing before it stops writing (``--renew-deadline``)."""
    retry_s: float = 2.0
    """Seconds between attempts to take or renew the lease (``--retry``)."""
