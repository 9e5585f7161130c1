"""Global options shared by every command, carried on click's context object."""

from __future__ import annotations

from dataclasses import dataclass

import click

__all__ = ["EXIT_DECLINED", "EXIT_ERROR", "EXIT_OK", "EXIT_PENDING", "EXIT_PROBLEMS", "Settings", "settings"]

# One table for every command (README, "Exit codes"). 0 and 1 follow `kubectl diff` (1: differences);
# a run that changed nothing on purpose gets a code of its own, so scripts never read it as a failure.
EXIT_OK = 0  # nothing to change, or done and healthy
EXIT_PROBLEMS = 1  # invalid manifests, differences (diff), failed or blocked changes, not in sync (status)
EXIT_ERROR = 2  # could not do the job at all: bad flag, no engine, empty manifest folder, ...
# 3 is `run`'s: the lease was lost (reconciler.runtime.manager.EXIT_LEASE_LOST).
EXIT_DECLINED = 4  # apply: "n" at the prompt; nothing was changed
EXIT_PENDING = 5  # apply --dry-run: there are changes to make; nothing was changed (terraform's "changes present")


@dataclass(frozen=True)
class Settings:
    docker_host: str | None
    instance: str
    output: str  # "text" or "json"


def settings(ctx: click.Context) -> Settings:
    found = ctx.find_object(Settings)
    if found is None:  # a command invoked on its own, e.g. in a test
        return Settings(docker_host=None, instance="reconciler", output="text")
    return found
