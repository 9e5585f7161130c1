"""The number of transient failures in a row → how long the controller waits before it tries again.

Exponential backoff with jitter, the strategy of Google Cloud Storage's retry guidance that tenacity's
``wait_exponential_jitter`` implements, which the controller used until it was the only thing it took
from tenacity (whose import cost ~5 ms and ~0.5 MiB of a controller's memory, issue 18): the n-th
failure in a row waits ``multiplier * 2**(n-1)`` seconds plus a uniform random ``[0, jitter)``, at most
``maximum`` (0.5 s, 1 s, 2 s … up to 30 s for the controller). The jitter keeps replicas that failed
together from retrying together. Called by ``runtime.controller``.
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["retry_delay"]


def retry_delay(
    failures: int,
    multiplier: float = 0.5,
    maximum: float = 30.0,
    jitter: float = 0.5,
    uniform: Callable[[float, float], float] = random.uniform,
) -> float:
    """Seconds to wait after ``failures`` (1 or more) transient failures in a row."""
    try:
        wait = multiplier * 2.0 ** (failures - 1) + uniform(0.0, jitter)
    except OverflowError:  # a very long run of failures: the cap
        wait = maximum
    return max(0.0, min(wait, maximum))
