"""Shared pytest fixtures."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.lab import Lab

if TYPE_CHECKING:
    import docker


@pytest.fixture(scope="session")
def lab() -> Iterator[Lab]:
    """The isolated lab dockerd with an active single-node swarm (started, or reused if already running).

    Torn down at session end only if this session started it and RECONCILER_LAB_KEEP is not 1.
    """
    if os.geteuid() != 0:
        pytest.skip(f"the lab dockerd needs root (running as uid {os.geteuid()})")
    the_lab = Lab().up()
    try:
        yield the_lab
    finally:
        if the_lab.started and os.environ.get("RECONCILER_LAB_KEEP") != "1":
            the_lab.down()


@pytest.fixture(scope="session")
def docker_client(lab: Lab) -> Iterator[docker.DockerClient]:
    """A docker SDK client bound to the lab socket."""
    client = lab.client()
    try:
        yield client
    finally:
        client.close()
