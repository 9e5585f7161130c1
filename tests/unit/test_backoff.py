"""The controller's retry delay (``runtime.backoff``): 0.5 s doubling per failure in a row, plus up to
0.5 s of jitter, at most 30 s; the formula of tenacity's ``wait_exponential_jitter(multiplier=0.5,
max=30, jitter=0.5)``, which the controller used before."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from reconciler.runtime.backoff import retry_delay


def test_without_jitter_the_delay_doubles_up_to_the_cap() -> None:
    delays = [retry_delay(n, uniform=lambda low, high: low) for n in range(1, 10)]
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert retry_delay(10_000, uniform=lambda low, high: low) == 30.0  # 2 ** 9999 overflows: the cap


@given(st.integers(1, 2000), st.integers(0, 2**32))
def test_the_jitter_adds_at_most_half_a_second_and_never_passes_the_cap(failures: int, seed: int) -> None:
    rng = random.Random(seed)
    delay = retry_delay(failures, uniform=rng.uniform)
    base = min(0.5 * 2.0 ** min(failures - 1, 64), 30.0)
    assert base <= delay <= min(base + 0.5, 30.0)
