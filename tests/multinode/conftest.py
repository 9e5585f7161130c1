"""Fixtures for tests on the multi-node lab: three Swarm managers, each a dockerd in its own network and
UTS namespace (``tests/lab/multinode/``), running beside the single-node lab."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.lab import Lab
from tests.lab.multinode import MultiNodeLab


@pytest.fixture(scope="session")
def multinode(lab: Lab) -> Iterator[MultiNodeLab]:
    """The multi-node lab (started, or reused if already running), with the single-node lab up beside it
    (the source of ``multinode.load_image``).

    Torn down at session end if this session started it, unless RECONCILER_LAB_KEEP=1.
    """
    if os.geteuid() != 0:
        pytest.skip(f"the multi-node lab needs root (running as uid {os.geteuid()})")
    the_lab = MultiNodeLab().up()
    try:
        yield the_lab
    finally:
        if the_lab.started and os.environ.get("RECONCILER_LAB_KEEP") != "1":
            the_lab.down()
