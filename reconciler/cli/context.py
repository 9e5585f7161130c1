"""Global options shared by every command, carried on click's context object."""

from __future__ import annotations

from dataclasses import dataclass

import click

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_PROBLEMS", "Settings", "settings"]

EXIT_OK = 0
EXIT_PROBLEMS = 1  # invalid manifests, differences, failed or blocked changes
EXIT_ERROR = 2  # could not do the job at all


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
