"""The controller process's threads → one malloc arena (glibc), so memory one thread frees serves all.

glibc gives each thread that allocates its own arena, and a block goes back to the arena it came from
when it is freed, whichever thread frees it. A pass reads the swarm on a thread of its own
(``early_observation``) while the main thread loads the manifests, so the engine's answers (the
largest blocks a pass holds) are allocated in one arena and the plan's in another, and the process
keeps the high-water mark of each: ``reconciler run`` at 1,000 manifests held 73.9 MiB after its
no-op passes with glibc's default and 68.3 MiB with one arena, peak 73.9 → 71.9 MiB, no slower
(``MALLOC_ARENA_MAX=1`` against the default, 3 interleaved runs each, issue 18). Only blocks above
512 bytes come from malloc (Python's small-object allocator is not per thread), and Python threads
allocate holding the GIL, so one arena costs no contention that shows.

``MALLOC_ARENA_MAX`` in the environment (which glibc reads itself) wins: nothing is changed then.
Elsewhere than glibc on Linux nothing is done. Called once by ``runtime.manager`` before it starts
any thread.
"""

from __future__ import annotations

import os
import sys

__all__ = ["share_one_malloc_arena"]

_M_ARENA_MAX = -8  # glibc's malloc.h


def share_one_malloc_arena() -> bool:
    """Ask glibc for one arena; whether it was asked and agreed."""
    if os.environ.get("MALLOC_ARENA_MAX") or not sys.platform.startswith("linux"):
        return False
    import ctypes  # only here: ~0.3 MiB, and no other module needs it

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # no C library symbols to reach, or one without mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_ARENA_MAX, 1))
