"""How a command ends on an error: one sentence on stderr and, with ``-o json``, one JSON document on
stdout (``{"error": ..., "exit_code": N}``, ``views.print_error``), with the exit code of the CLI table
(README, "Exit codes"). Imports neither the docker SDK nor the controller, so ``validate`` and
``render`` stay light (``tests/unit/test_cli_lazy_imports.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import NoReturn

import click

from reconciler.cli.context import EXIT_ERROR, settings
from reconciler.cli.views import print_error

__all__ = ["fail", "path_or_exit"]


def fail(ctx: click.Context, message: str, code: int = EXIT_ERROR) -> NoReturn:
    """End the command with ``message`` (with ``-o json``, also as JSON on stdout) and ``code``."""
    print_error(message, settings(ctx).output, code)
    ctx.exit(code)
    raise AssertionError("unreachable")  # ctx.exit raises


def path_or_exit(ctx: click.Context, path: str) -> None:
    """A PATH that does not exist is a usage error (exit 2, the path named, no file position): before,
    it read as an invalid manifest at ``/nonexistent:1:1``."""
    if not Path(path).exists():
        fail(ctx, f"error: no such file or folder: {path} (PATH is the manifest folder, or one manifest file)")
