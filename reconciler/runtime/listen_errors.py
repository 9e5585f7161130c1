"""``--listen`` failures in one plain sentence: the address, what is wrong, and the fix."""

from __future__ import annotations

import errno

__all__ = ["listen_error"]


def listen_error(listen: str, exc: OSError) -> str:
    """Why the controller cannot listen on ``listen`` (as given), for a person to act on."""
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen on {listen}: the port is in use by another process (another controller?); "
                "stop it, or choose another address with --listen")  # fmt: skip
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"cannot listen on {listen}: permission denied (ports below 1024 need root); choose a port above 1023"
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
        return f"cannot listen on {listen}: no interface of this machine has that address; check --listen"
    return f"cannot listen on {listen}: {exc.strerror or exc}; check --listen"
