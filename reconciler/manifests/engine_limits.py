"""Limits the Docker Engine enforces when it creates an object or starts a task, checked offline.

Each constant names the file of swarmkit (``github.com/moby/swarmkit``) or moby it comes from; a
manifest outside a limit would pass ``validate`` and then fail half-way through ``apply`` (or start
tasks that never run). Used by the kind models (durations, resources) and the loader (content sizes).
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from reconciler.manifests.types import Duration
from reconciler.manifests.units import parse_cpus, parse_duration, parse_memory

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_SECRET_BYTES",
    "MIN_HEALTH_DURATION_NS",
    "MIN_LIMIT_MEMORY",
    "MIN_NANO_CPUS",
    "MIN_RESERVED_MEMORY",
    "HealthDuration",
    "check_cpus",
    "content_size_problem",
    "memory_problem",
]

# manager/controlapi/service.go validateHealthCheck: interval, timeout, start period and start
# interval "cannot be less than 1ms" unless 0 (the default).
MIN_HEALTH_DURATION_NS = 1_000_000
# manager/controlapi/config.go: "config data must be larger than 0 and less than 1024000 bytes".
MAX_CONFIG_BYTES = 1000 * 1024
# api/validation/secrets.go ValidateSecretPayload: "larger than 0 and less than 512000 bytes".
MAX_SECRET_BYTES = 500 * 1024
# manager/controlapi/service.go validateResources: a non-zero cpu value "Must be at least 0.001",
# a non-zero memory value "Must be at least 4MiB" (limits and reservations alike).
MIN_NANO_CPUS = 1_000_000
MIN_RESERVED_MEMORY = 4 * 1024 * 1024
# moby daemon/daemon_unix.go linuxMinMemory: the engine refuses to create a container whose memory
# limit is below 6 MiB ("Minimum memory limit allowed is 6MB"), or below its memory reservation.
MIN_LIMIT_MEMORY = 6 * 1024 * 1024


def _health_duration(value: str) -> str:
    nanos = parse_duration(value)
    if 0 < nanos < MIN_HEALTH_DURATION_NS:
        raise ValueError(f"{value} is less than 1ms: the engine takes 0 (its default) or at least 1ms")
    return value


HealthDuration = Annotated[
    Duration,
    AfterValidator(_health_duration),
    Field(description="A Go-style duration of at least 1ms (or 0 for the engine's default)."),
]


def check_cpus(value: str | float) -> str | float:
    """A CPU count the engine takes: at least 0.001."""
    if parse_cpus(value) < MIN_NANO_CPUS:
        raise ValueError(f"{value} CPUs is less than the engine's minimum of 0.001")
    return value


def memory_problem(value: str | int, is_limit: bool) -> str | None:
    """Why the engine refuses ``value`` as a memory limit or reservation, or None. 0 means none."""
    size = parse_memory(value)
    if size == 0:
        return None
    if size < MIN_RESERVED_MEMORY:
        return f"{value} is less than the engine's minimum of 4MiB"
    if is_limit and size < MIN_LIMIT_MEMORY:
        return f"{value} is less than 6MiB, the smallest memory limit the engine starts a container with"
    return None


def content_size_problem(kind: str, size: int) -> str | None:
    """Why the engine refuses a config or secret of ``size`` bytes, or None."""
    limit = MAX_SECRET_BYTES if kind == "Secret" else MAX_CONFIG_BYTES
    if size < 1:
        return f"a {kind.lower()} may not be empty: the engine takes 1 to {limit - 1} bytes"
    if size >= limit:
        return f"{size} bytes: the engine takes a {kind.lower()} of at most {limit - 1} bytes ({limit // 1024} KiB - 1)"
    return None
