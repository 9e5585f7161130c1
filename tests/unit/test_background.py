"""``core.background.Background``: a call on a daemon thread, its answer or its error taken on the caller's thread."""

from __future__ import annotations

import threading

import pytest

from reconciler.core.background import Background


def test_the_answer_comes_from_another_thread() -> None:
    ran_on: list[str] = []

    def call() -> int:
        ran_on.append(threading.current_thread().name)
        return 42

    assert Background(call, "reader").start().result() == 42
    assert ran_on == ["reader"]


def test_what_the_call_raised_is_raised_by_result_and_the_time_it_ended_is_kept() -> None:
    def call() -> int:
        raise KeyError("Spec")

    background = Background(call, "reader", clock=lambda: 7.5)
    assert background.finished_at is None
    with pytest.raises(KeyError, match="Spec"):
        background.start().result()
    assert background.finished_at == 7.5


def test_result_starts_a_call_nobody_started() -> None:
    background = Background(lambda: "read", "reader")
    assert background.result() == "read"
    assert background.result() == "read"  # asked again: the same answer, not a second call
