"""``python -m tests.lab multi up|down|status``: the multi-node lab by hand (``tests/lab/__main__.py`` calls
``cli``). Prints what it did, or the lab's status; exit status 0 on success (status: running), 1 otherwise.
"""

from __future__ import annotations

import sys
import time

from tests.lab.host import LabError
from tests.lab.multinode.lab import MultiNodeLab


def cli(action: str) -> int:
    """``python -m tests.lab multi up|down|status``; exit status 0 on success (status: running)."""
    try:
        lab = MultiNodeLab()
        if action == "up":
            began = time.monotonic()
            lab.up()
            how = "started" if lab.started else "reused running lab"
            print(f"multi-node lab up ({how} in {time.monotonic() - began:.1f} s), host {lab.host_ip}:")
            for name in lab.node_names:
                print(f"  {name}: {lab.node_ip(name)}  export DOCKER_HOST={lab.base_url(name)}")
            return 0
        if action == "down":
            lab.down()
            print(f"multi-node lab down: {lab.root} removed")
            return 0
        status = lab.status()
        for key, value in status.items():
            print(f"{key}: {value}")
        return 0 if status["running"] else 1
    except LabError as exc:
        print(f"multi-node lab {action} failed: {exc}", file=sys.stderr)
        return 1
