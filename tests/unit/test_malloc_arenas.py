"""``runtime.malloc_arenas``: the controller process asks glibc for one malloc arena, unless the
operator set ``MALLOC_ARENA_MAX`` (which glibc then reads itself). Run in a child process each: the
setting is process-wide."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

CODE = "from reconciler.runtime.malloc_arenas import share_one_malloc_arena as s; print(s())"


def _asked(env_arenas: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    if env_arenas is not None:
        env["MALLOC_ARENA_MAX"] = env_arenas
    done = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):  # not a name this platform knows
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc only")
def test_glibc_is_asked_for_one_arena() -> None:
    assert _asked(None) == "True"


def test_the_operator_s_setting_wins() -> None:
    assert _asked("4") == "False"
