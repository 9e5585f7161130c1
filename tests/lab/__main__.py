"""``python -m tests.lab up|down|status|env``: drive the lab dockerd by hand;
``python -m tests.lab multi up|down|status``: the multi-node lab (``tests/lab/multinode/``).

Exit status 0 on success (for ``status`` and ``env``: the lab is running), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

from tests.lab.engine import DEFAULT_LAB_DIR, LAB_DIR_ENV, Lab
from tests.lab.host import LabError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.lab",
        description=f"The isolated lab dockerd (folder: ${LAB_DIR_ENV} or {DEFAULT_LAB_DIR}).",
    )
    parser.add_argument(
        "command",
        choices=["up", "down", "status", "env", "demo", "multi"],
        help="up: start or reuse the lab; down: stop it and delete its folder; "
        "status: show it; env: print `export DOCKER_HOST=...` for it; "
        "demo: apply examples/ (adapted to the lab) and show status and diff; "
        "multi up|down|status: the same for the three-node lab (tests/lab/multinode/)",
    )
    # The multi-node lab (tests/lab/multinode/): `multi up|down|status`.
    parser.add_argument("action", nargs="?", choices=["up", "down", "status"], help="for multi only")
    args = parser.parse_args(argv)
    if args.command == "multi":
        from tests.lab.multinode import cli as multi_cli

        return multi_cli(args.action or "status")
    if args.action is not None:
        parser.error(f"{args.command} takes no action argument")
    try:
        lab = Lab()
        if args.command == "up":
            began = time.monotonic()
            lab.up()
            how = "started" if lab.started else "reused running lab"
            print(f"lab up ({how} in {time.monotonic() - began:.1f} s): dockerd pid {lab.pid}, {lab.base_url}")
            print(f"export DOCKER_HOST={shlex.quote(lab.base_url)}")
            return 0
        if args.command == "demo":
            from tests.lab.demo import run_demo

            return run_demo(Path(__file__).resolve().parents[2] / "examples")
        if args.command == "down":
            lab.down()
            print(f"lab down: {lab.root} removed")
            return 0
        if args.command == "status":
            status = lab.status()
            for key, value in status.items():
                print(f"{key}: {value}")
            return 0 if status["running"] else 1
        print(f"export DOCKER_HOST={shlex.quote(lab.base_url)}")
        if not lab.is_running():
            print(f"lab is not running ({lab.root}); start it with `python -m tests.lab up`", file=sys.stderr)
            return 1
        return 0
    except LabError as exc:
        print(f"lab {args.command} failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `python -m tests.lab status | head -1`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    sys.exit(code)
