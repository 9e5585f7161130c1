"""Units in manifests: durations, memory sizes and CPU counts as the Engine API wants them."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.manifests.units import parse_cpus, parse_duration, parse_memory


@pytest.mark.parametrize(
    ("text", "nanos"),
    [("0", 0), ("500ms", 500_000_000), ("30s", 30_000_000_000), ("1m30s", 90_000_000_000), ("2h", 7_200_000_000_000),
     ("1.5s", 1_500_000_000), ("10us", 10_000), ("10µs", 10_000), ("7ns", 7)],
)  # fmt: skip
def test_durations_are_go_durations(text: str, nanos: int) -> None:
    assert parse_duration(text) == nanos


@pytest.mark.parametrize("text", ["", "30", "s", "1 m", "-1s", "1d", "1s1", "9999999999h"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "size"),
    [(1024, 1024), ("100", 100), ("512M", 512 * 2**20), ("512Mi", 512 * 2**20), ("512MB", 512 * 2**20),
     ("1G", 2**30), ("1.5Gi", 3 * 2**29), ("64k", 64 * 1024), ("2T", 2 * 2**40)],
)  # fmt: skip
def test_memory_suffixes_are_binary_like_docker(value: str | int, size: int) -> None:
    assert parse_memory(value) == size


@pytest.mark.parametrize("value", ["lots", "1X", "-5", "1 G B", -1, True])
def test_bad_memory_is_refused(value: str | int) -> None:
    with pytest.raises(ValueError):
        parse_memory(value)


def test_cpus_become_nanocpus() -> None:
    assert parse_cpus("0.5") == 500_000_000
    assert parse_cpus(2) == 2_000_000_000
    assert parse_cpus(0.25) == 250_000_000
    for bad in ("0", "-1", "many", "nan", "inf", True):
        with pytest.raises(ValueError):
            parse_cpus(bad)  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(["ns", "us", "ms", "s", "m", "h"]))
def test_duration_round_trip(amount: int, unit: str) -> None:
    factor = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}[unit]
    assert parse_duration(f"{amount}{unit}") == amount * factor
