"""One plain sentence for an engine that cannot be reached, naming the address and the fix.

A transport error's text ("[Errno 111] Connection refused", "timed out") tells a person little they
can act on. The operating-system error at the bottom of the chain does: no socket file, no
permission, refused.
"""

from __future__ import annotations

import errno
import os
import ssl
import stat

__all__ = ["DEFAULT_SOCKET", "describe_unreachable", "engine_address"]

DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_FIX = "start the engine, or point --docker-host (or DOCKER_HOST) at its socket"


def engine_address(docker_host: str | None) -> str:
    """The address a client for ``docker_host`` talks to (flag, env, default), as ``EngineAddress.parse`` picks it."""
    return docker_host or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET


def _os_error(exc: BaseException) -> OSError | None:
    """The deepest OSError in the chain or the arguments."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    found: OSError | None = None
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno is not None:
            found = current
        stack.extend(a for a in current.args if isinstance(a, BaseException))
        for nxt in (current.__cause__, current.__context__, getattr(current, "reason", None)):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return found


def describe_unreachable(address: str, exc: BaseException) -> str:
    """Why ``address`` did not answer, and what to do, in one sentence."""
    # "unix://" alone is the default socket (EngineAddress.parse): name that path, not an empty one.
    where = (
        (address.removeprefix("unix://") or DEFAULT_SOCKET.removeprefix("unix://"))
        if address.startswith("unix://")
        else address
    )
    # The default socket was used because nothing named another one: say so, it is often the mistake.
    source = " (DOCKER_HOST is not set)" if address == DEFAULT_SOCKET and not os.environ.get("DOCKER_HOST") else ""
    cause = _os_error(exc)
    if isinstance(cause, ssl.SSLError):  # its errno is OpenSSL's (1 for a failed verification), not errno's EPERM
        reason = getattr(cause, "verify_message", None) or cause.reason or str(cause)
        return (f"TLS with the engine at {where} failed: {reason}; check that the engine's certificate is "
                "signed by $DOCKER_CERT_PATH/ca.pem and names the host of --docker-host (or DOCKER_HOST), "
                "and that the port speaks TLS")  # fmt: skip
    code = cause.errno if cause is not None else None
    text = str(exc)
    if code == errno.ENOENT or "No such file or directory" in text:
        return f"no Docker engine socket at {where}{source}: {_FIX}"
    if code in (errno.EACCES, errno.EPERM) or "Permission denied" in text:
        return (f"no permission to use the engine socket {where}: run as root or as a member of the docker group, "
                "or point --docker-host at a socket proxy")  # fmt: skip
    if code == errno.ECONNREFUSED and address.startswith("unix://") and _not_a_socket(where):
        return f"{where} is not a socket: point --docker-host (or DOCKER_HOST) at the engine's socket"
    if code == errno.ECONNREFUSED or "Connection refused" in text:
        return f"nothing answers at {where}{source} (connection refused): {_FIX}"
    if "timed out" in text.lower() or "timeout" in type(exc).__name__.lower():
        return f"the engine at {where} did not answer in time: check that it runs and is not overloaded"
    reason = cause.strerror if cause is not None and cause.strerror else type(exc).__name__
    return f"cannot reach the engine at {where}: {reason}; {_FIX}"


def _not_a_socket(path: str) -> bool:
    """A file or folder that exists but is no socket (connect() to it is refused, as to a dead socket)."""
    try:
        return not stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False
