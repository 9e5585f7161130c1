"""``reconciler run --manifests PATH``: the controller. The options become a
``reconciler.runtime.settings.RunSettings``, which ``reconciler.runtime.manager.Manager`` turns into the
running pieces (the loop, leader election on a Swarm config lease, the optional Git sync and its webhook,
the HTTP endpoints, structured logs and signals). Exits 0 on SIGTERM/SIGINT (after releasing the lease),
3 when the lease was lost (another replica may be writing already), 2 when it cannot start. Every
option's default is the ``RunSettings`` field's, so the CLI and the runtime cannot disagree.
"""

from __future__ import annotations

import gc
from pathlib import Path

import click

from reconciler.cli.context import settings
from reconciler.engine.scheduling import MAX_WORKERS  # these three: the standard library only
from reconciler.manifests.discovery import discover
from reconciler.runtime.settings import LOG_LEVELS, RunSettings, default_identity


@click.command()
@click.option(
    "--manifests",
    type=click.Path(path_type=Path),
    default=RunSettings.manifests,
    show_default=True,
    help="The manifest folder; with --git-url, a folder inside the repository.",
)
@click.option(
    "--listen", default=RunSettings.listen, show_default=True, help="Address of /healthz, /readyz, /metrics, /status."
)
@click.option(
    "--resync",
    type=click.FloatRange(min=1),
    default=RunSettings.resync_s,
    show_default=True,
    help="Seconds between full passes.",
)
@click.option("--prune", is_flag=True, help="Delete managed objects no longer in the manifests.")
@click.option("--allow-empty", is_flag=True, help="Start from a folder without manifests, and prune from an empty set.")
@click.option("--max-prune", type=click.IntRange(min=0), default=RunSettings.max_prune, show_default=True,
              help="Most deletions per pass; more blocks all of them.")  # fmt: skip
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=RunSettings.dependency_timeout_s,
    show_default=True,
    help="Seconds to wait for a dependency's tasks to run.",
)
@click.option("--apply-workers", type=click.IntRange(1, MAX_WORKERS), default=RunSettings.apply_workers,
              show_default=True, help="Changes written at once where independent, in dependency order.")  # fmt: skip
@click.option("--git-url", help="Clone and follow this repository instead of reading a folder that is synced.")
@click.option("--git-ref", default=RunSettings.git_ref, show_default=True, help="Branch or tag to follow.")
@click.option("--git-interval", type=click.FloatRange(min=1), default=RunSettings.git_interval_s, show_default=True,
              help="Seconds between fetches of --git-url.")  # fmt: skip
@click.option(
    "--git-dir",
    type=click.Path(path_type=Path),
    default=RunSettings.git_dir,
    show_default=True,
    help="Where the Git sync keeps its revisions.",
)
@click.option(
    "--webhook-secret-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="HMAC secret for POST /hooks/git (GitHub's X-Hub-Signature-256); also $RECONCILER_WEBHOOK_SECRET.",
)
@click.option(
    "--path-prefix",
    default=RunSettings.path_prefix,
    help="The dashboard's path behind a proxy that strips it (e.g. /reconciler); default: relative links.",
)
@click.option(
    "--notify-urls-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Apprise URLs, one a line (e.g. a Swarm secret); also $RECONCILER_NOTIFY_URLS.",
)
@click.option(
    "--notify-repeat",
    type=click.FloatRange(min=0),
    default=RunSettings.notify_repeat_s,
    show_default=True,
    help="Seconds before the same condition is notified again.",
)
@click.option("--identity", default=default_identity, help="This replica's name in the lease.")
@click.option("--lease", "lease_s", type=click.FloatRange(min=1), default=RunSettings.lease_s, show_default=True,
              help="Seconds a leader's lease lasts without renewal (followers take over after it).")  # fmt: skip
@click.option(
    "--renew-deadline",
    "renew_s",
    type=click.FloatRange(min=0.5),
    default=RunSettings.renew_deadline_s,
    show_default=True,
    help="Seconds within which the leader must renew, or stop writing and exit 3.",
)
@click.option("--retry", "retry_s", type=click.FloatRange(min=0.1), default=RunSettings.retry_s, show_default=True,
              help="Seconds between attempts to take or renew the lease.")  # fmt: skip
@click.option("--no-leader-election", is_flag=True, help="Write without a lease (one replica only).")
@click.option("--log-level", default=RunSettings.log_level, show_default=True, type=click.Choice(LOG_LEVELS),
              help="Least severe log level written.")  # fmt: skip
@click.pass_context
def run(ctx: click.Context, manifests: Path, listen: str, resync: float, prune: bool, allow_empty: bool, max_prune: int,
        timeout: float, apply_workers: int, git_url: str | None, git_ref: str, git_interval: float, git_dir: Path,
        webhook_secret_file: Path | None, identity: str, lease_s: float, renew_s: float, retry_s: float,
        no_leader_election: bool, log_level: str, path_prefix: str, notify_urls_file: Path | None,
        notify_repeat: float) -> None:  # fmt: skip
    """Run the controller: converge the swarm continuously to the manifests."""
    gc.enable()  # ``app.main`` turns the cycle collector off for short commands; the controller lives on
    conf = settings(ctx)
    run_settings = RunSettings(
        manifests=manifests,
        docker_host=conf.docker_host,
        instance=conf.instance,
        resync_s=resync,
        prune=prune,
        allow_empty=allow_empty,
        max_prune=max_prune,
        dependency_timeout_s=timeout,
        apply_workers=apply_workers,
        listen=listen,
        log_level=log_level,
        git_url=git_url,
        git_ref=git_ref,
        git_interval_s=git_interval,
        git_dir=git_dir,
        webhook_secret_file=webhook_secret_file,
        leader_election=not no_leader_election,
        identity=identity,
        lease_s=lease_s,
        renew_deadline_s=renew_s,
        retry_s=retry_s,
        path_prefix=path_prefix,
        notify_urls_file=notify_urls_file,
        notify_repeat_s=notify_repeat,
    )
    if not git_url and not allow_empty and not discover(manifests).files:  # deploy/stack.yml passes --git-url=""
        # As for diff and apply: a mistyped folder must not start a controller that manages nothing.
        from reconciler.cli.failing import fail  # rich, only on this path: a running controller never loads it

        fail(ctx, f"reconciler run: no manifests (*.yaml, *.yml) found under {manifests}: check --manifests, "
                  "or pass --allow-empty if an empty set is meant")  # fmt: skip
    from reconciler.runtime.manager import Manager  # here: `run --help` needs neither the docker SDK nor the HTTP stack

    code = Manager(run_settings).run()
    if code:
        ctx.exit(code)


__all__ = ["run"]
