"""What the engine needs from a swarm: one snapshot per pass, and a few writes.

The engine depends on this Protocol only; ``docker_api.DockerSwarm`` implements it over the Engine
API. Objects are plain Engine API dicts (``ID``, ``Version``, ``Spec``, …), untouched: reducing
them to essences is the state layer's job.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from reconciler.state.snapshot import ApiObject, Snapshot

__all__ = [
    "ApiObject",
    "EngineUnavailable",
    "EventSource",
    "Forbidden",
    "InUse",
    "NameTaken",
    "NotFound",
    "Snapshot",
    "SwarmError",
    "SwarmPort",
    "VersionConflict",
]


class SwarmError(Exception):
    """An Engine API call failed; ``status`` is the HTTP status (0 when there was no answer)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class EngineUnavailable(SwarmError):
    """No answer from the engine or the proxy in front of it."""


class Forbidden(SwarmError):
    """The socket proxy refused the request (HTTP 403): a permission is missing."""


class NotFound(SwarmError):
    pass


class NameTaken(SwarmError):
    """Creating an object whose name exists already (HTTP 409)."""


class InUse(SwarmError):
    """Removing an object that a service still uses."""


class VersionConflict(SwarmError):
    """The object changed since it was observed ("update out of sequence"): observe again."""


class EventSource(Protocol):
    """A stream of Engine events (``Type``, ``Action``, ``Actor``: ``{ID, Attributes}``, ``time``):
    iterating blocks until the next one; ``close()``, from another thread, ends the iteration."""

    def __iter__(self) -> Iterator[ApiObject]: ...

    def close(self) -> None: ...


class SwarmPort(Protocol):
    """``requests`` counts every API call made through the port (the benchmarks and the contract
    tests read it). Writes raise the ``SwarmError`` subclasses above."""

    requests: int

    def snapshot(self) -> Snapshot: ...

    def events(self, types: Sequence[str]) -> EventSource: ...

    def running_tasks(self, service_id: str) -> list[ApiObject]: ...

    def create_network(self, spec: ApiObject) -> str: ...

    def remove_network(self, network_id: str) -> None: ...

    def inspect_network(self, network_id: str) -> ApiObject: ...

    def create_config(self, spec: ApiObject) -> str: ...

    def remove_config(self, config_id: str) -> None: ...

    def update_config(self, config_id: str, version: int, spec: ApiObject) -> None: ...

    def create_secret(self, spec: ApiObject) -> str: ...

    def update_secret(self, secret_id: str, version: int, spec: ApiObject) -> None: ...

    def remove_secret(self, secret_id: str) -> None: ...

    def create_service(self, spec: ApiObject) -> str: ...

    def update_service(self, service_id: str, version: int, spec: ApiObject) -> None: ...

    def remove_service(self, service_id: str) -> None: ...
