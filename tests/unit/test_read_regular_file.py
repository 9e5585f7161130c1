"""``loading._read_regular_file`` reads what the file holds and one byte more instead of asking for
the whole limit (which allocated 1 MiB for every small manifest, issue 18): the bytes returned are
the same as ``read(limit)`` would give, for any size around the limit, and for a file that grew
after its size was taken (a stale ``fstat``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconciler.manifests import loading
from reconciler.manifests.loading import _read_regular_file

LIMIT = 64


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 3 * LIMIT), seen=st.integers(0, 3 * LIMIT))
def test_the_bytes_are_what_read_limit_gives(tmp_path: Path, monkeypatch: Any, size: int, seen: int) -> None:
    """``seen``: the size fstat reports (less than ``size``: the file grew after it was taken)."""
    path = tmp_path / "m.yaml"
    content = bytes(range(256)) * (size // 256 + 1)
    path.write_bytes(content[:size])
    real_fstat = os.fstat

    def stale_fstat(fd: int) -> os.stat_result:
        found = real_fstat(fd)
        fields = list(found)
        fields[6] = min(seen, found.st_size)  # st_size
        return os.stat_result(fields)

    with monkeypatch.context() as patch:
        patch.setattr(loading.os, "fstat", stale_fstat)
        data = _read_regular_file(path, LIMIT + 1)
    assert data == content[: min(size, LIMIT + 1)]


def test_a_fifo_is_still_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.yaml")
    with pytest.raises(OSError, match="not a regular file"):
        _read_regular_file(tmp_path / "pipe.yaml", LIMIT)
