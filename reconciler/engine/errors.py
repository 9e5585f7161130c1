"""Why a change (or a whole pass) failed, as types the controller acts on.

controller-runtime's contract, in kopf's words: a ``TemporaryError`` is retried after a delay, a
``PermanentError`` is not retried until something changes. Here:

- ``TransientError``: the engine answered with a failure that may pass by itself (no answer, a
  network still being removed, a dependency whose tasks do not run yet). Retried with backoff.
- ``TerminalError``: retrying the same input against the same engine cannot help (the socket proxy
  refuses a request; the engine rejects the spec as invalid). Not retried until the manifests or the
  swarm change; shown in ``/status`` and the ``reconciler_terminal`` metric.

``classify`` maps the Swarm adapter's errors to these. Used by the applier and ``reconcile_once``.
"""

from __future__ import annotations

from reconciler.swarm.port import EngineUnavailable, Forbidden, InUse, NameTaken, NotFound, SwarmError

__all__ = ["ReconcileError", "TerminalError", "TransientError", "classify"]


class ReconcileError(Exception):
    """The base of the two; ``str()`` is the reason shown to people."""

    terminal = False


class TransientError(ReconcileError):
    """Retry later, with backoff."""


class TerminalError(ReconcileError):
    """Needs a person: a missing proxy permission, or a spec the engine refuses."""

    terminal = True


def classify(exc: SwarmError) -> ReconcileError:
    """A Swarm adapter error → transient or terminal. A 403 is the socket proxy (SPEC: the proxy's
    permissions); a 400 that is not "in use" is the engine refusing the spec (moby answers
    InvalidArgument as 400: api/server/httpstatus/status.go), which the same spec gets again."""
    if isinstance(exc, Forbidden):
        return TerminalError(str(exc))
    if isinstance(exc, EngineUnavailable | InUse | NameTaken | NotFound):
        return TransientError(str(exc))
    if exc.status == 400:
        return TerminalError(f"the engine refused it: {exc}")
    return TransientError(str(exc))
