"""The leader lease as a Swarm config: the config ``reconciler-lease-<instance>``'s labels ↔ a ``LeaseRecord``.

Swarm lets only a config's labels change (``POST /configs/{id}/update?version=N`` with the full spec), and
refuses an update whose version is not the current one ("update out of sequence", the adapter's
``VersionConflict``): that is the compare-and-swap the election needs. The config's data is a constant
note and never changes. Called by ``reconciler.runtime.leader.LeaderElector``; nothing else writes it.

The config carries the ownership labels ``managed-by=<instance>`` and ``kind=Lease`` so that people and
tools can see whose it is. The planner prunes by ``managed-by`` alone, so it must skip ``kind=Lease``.
"""

from __future__ import annotations

import base64
import dataclasses
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from reconciler import LABEL_PREFIX
from reconciler.core.labels import KIND, LEASE_CONFIG_PREFIX, LEASE_KIND, MANAGED_BY
from reconciler.swarm.port import NotFound

if TYPE_CHECKING:
    from reconciler.swarm.docker_api import DockerSwarm

__all__ = [
    "DURATION",
    "HOLDER",
    "LEASE_KIND",
    "RENEWALS",
    "TRANSITIONS",
    "LeaseRecord",
    "LeaseStore",
    "lease_config_name",
]

HOLDER = f"{LABEL_PREFIX}lease-holder"
RENEWALS = f"{LABEL_PREFIX}lease-renewals"
TRANSITIONS = f"{LABEL_PREFIX}lease-transitions"
DURATION = f"{LABEL_PREFIX}lease-duration-s"
_NAME_PREFIX = LEASE_CONFIG_PREFIX
# Swarm refuses a config with no data, and refuses any later change of it: so a fixed note.
_DATA = base64.b64encode(b"swarm-reconciler leader lease: the record is in this config's labels\n").decode()


def lease_config_name(instance: str) -> str:
    return f"{_NAME_PREFIX}{instance}"


@dataclass(frozen=True)
class LeaseRecord:
    """One observation of the lease. ``version`` is the Swarm object version the next write must name."""

    holder: str  # "" when released
    renewals: int  # bumped by every renew, so that observers see the holder is alive
    transitions: int  # bumped whenever the lease changes hands
    duration_s: float  # how long the holder asks observers to wait, on their own clocks
    version: int
    config_id: str


class LeaseStore:
    """Reads and writes lease records through the Engine API adapter. Thread-safe."""

    def __init__(self, swarm: DockerSwarm) -> None:
        self.swarm = swarm
        self._lock = threading.Lock()
        # config ID → the spec last seen: Swarm replaces the labels wholesale on update, so a write
        # must send every label (and the same name and data), not only the lease's.
        self._specs: dict[str, dict[str, Any]] = {}

    def read(self, instance: str) -> LeaseRecord | None:
        """The lease of ``instance``, or None if its config does not exist."""
        try:
            # GET by name: the engine looks the name up exactly before it tries it as an ID prefix.
            found = self.swarm.get(f"/configs/{lease_config_name(instance)}")
        except NotFound:
            return None
        if found.get("Spec", {}).get("Name") != lease_config_name(instance):
            return None  # matched as an ID prefix: not the lease
        return self._remember(found)

    def create(self, instance: str, holder: str, duration_s: float) -> LeaseRecord:
        """Make the lease held by ``holder``. Raises ``NameTaken`` if another replica made it first."""
        labels = {
            MANAGED_BY: instance,
            KIND: LEASE_KIND,
            **_lease_labels(holder, renewals=0, transitions=0, duration_s=duration_s),
        }
        config_id = self.swarm.create_config({"Name": lease_config_name(instance), "Labels": labels, "Data": _DATA})
        return self._inspect(config_id)

    def write(self, record: LeaseRecord, **changes: Any) -> LeaseRecord:
        """Compare-and-swap: write ``record`` with ``changes`` (fields of ``LeaseRecord`` except version and
        config_id) if the config is still at ``record.version``; raises ``VersionConflict`` if it is not.

        Returns the record as read back after the write: the update answers with no body, and Swarm's
        versions are raft indexes, so the new version cannot be predicted.
        """
        if {"version", "config_id"} & changes.keys():
            raise ValueError("version and config_id are Swarm's, not the lease's")
        wanted = dataclasses.replace(record, **changes)
        with self._lock:
            spec = self._specs.get(record.config_id)
        if spec is None:
            self._inspect(record.config_id)  # only the name, data and other labels are used from it
            with self._lock:
                spec = self._specs[record.config_id]
        labels = {
            **(spec.get("Labels") or {}),
            **_lease_labels(wanted.holder, wanted.renewals, wanted.transitions, wanted.duration_s),
        }
        body = {"Name": spec["Name"], "Labels": labels, "Data": spec.get("Data", _DATA)}
        self.swarm.update_config(record.config_id, record.version, body)
        return self._inspect(record.config_id)

    def _inspect(self, config_id: str) -> LeaseRecord:
        return self._remember(self.swarm.get(f"/configs/{config_id}"))

    def _remember(self, found: dict[str, Any]) -> LeaseRecord:
        spec = found.get("Spec") or {}
        with self._lock:
            self._specs[found["ID"]] = spec
        labels = spec.get("Labels") or {}
        return LeaseRecord(
            holder=labels.get(HOLDER, ""),
            renewals=_int(labels.get(RENEWALS)),
            transitions=_int(labels.get(TRANSITIONS)),
            duration_s=_float(labels.get(DURATION)),
            version=int(found["Version"]["Index"]),
            config_id=str(found["ID"]),
        )


def _lease_labels(holder: str, renewals: int, transitions: int, duration_s: float) -> dict[str, str]:
    return {HOLDER: holder, RENEWALS: str(renewals), TRANSITIONS: str(transitions), DURATION: repr(float(duration_s))}


def _int(text: str | None) -> int:
    # A label someone edited by hand must not stop the election: it reads as 0, and the holder's next
    # write puts a good value back.
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


def _float(text: str | None) -> float:
    try:
        return float(text) if text is not None else 0.0
    except ValueError:
        return 0.0
