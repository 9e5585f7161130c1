"""The leader lease as a Swarm config: the config ``reconciler-lease-<instance>``'s labels ↔ a ``LeaseRecord``.

Swarm lets only a config's labels change (``POST /configs/{id}/update?version=N`` with the full spec), and
refuses an update whose version is not the current one ("update out of sequence", the adapter's
``VersionConflict``): that is the compare-and-swap the election needs. The config's data is a constant
note and never changes. Called by ``reconciler.runtime.leader.LeaderElector``; nothing else writes it.

Every call here is ONE Engine API request, so that a renewal costs one request on a slow API. Swarm
answers a create with the new ID only and an update with no body at all, and its versions are raft
indexes (shared by every object, so they cannot be predicted): a record returned by ``create`` or
``write`` therefore has ``version=None``, and the caller reads the lease again (``read``) when it needs
the version for its next compare-and-swap.

The holder is named by two labels: ``lease-holder``, the replica's ``--identity`` (for people and
``/status``), and ``lease-token``, a random token each process draws at start. Only both together say
"this process holds it": two processes started with the same ``--identity`` have different tokens.

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
    "TOKEN",
    "TRANSITIONS",
    "LeaseRecord",
    "LeaseStore",
    "lease_config_name",
]

HOLDER = f"{LABEL_PREFIX}lease-holder"
TOKEN = f"{LABEL_PREFIX}lease-token"
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
    """One observation of the lease. ``version`` is the Swarm object version the next write must name;
    None for a record this process has just written (Swarm does not answer with the new version)."""

    holder: str  # the holder's --identity; "" when released
    renewals: int  # bumped by every renew, so that observers see the holder is alive
    transitions: int  # bumped whenever the lease changes hands
    duration_s: float  # how long the holder asks observers to wait, on their own clocks
    version: int | None
    config_id: str
    token: str = ""  # the holding process's random token; "" when released or written by a version without it

    def held_by(self, identity: str, token: str) -> bool:
        """Whether the process with this identity AND token holds the lease (an identity alone is not enough)."""
        return bool(self.holder) and self.holder == identity and self.token == token


class LeaseStore:
    """Reads and writes lease records through the Engine API adapter, one request per call. Thread-safe."""

    def __init__(self, swarm: DockerSwarm) -> None:
        self.swarm = swarm
        self._lock = threading.Lock()
        # config ID → the spec last seen or sent: Swarm replaces the labels wholesale on update, so a
        # write must send every label (and the same name and data), not only the lease's.
        self._specs: dict[str, dict[str, Any]] = {}

    def read(self, instance: str) -> LeaseRecord | None:
        """The lease of ``instance``, or None if its config does not exist. One request."""
        try:
            # GET by name: the engine looks the name up exactly before it tries it as an ID prefix.
            found = self.swarm.get(f"/configs/{lease_config_name(instance)}")
        except NotFound:
            return None
        if found.get("Spec", {}).get("Name") != lease_config_name(instance):
            return None  # matched as an ID prefix: not the lease
        spec = found.get("Spec") or {}
        with self._lock:
            self._specs[found["ID"]] = spec
        return _record(spec.get("Labels") or {}, int(found["Version"]["Index"]), str(found["ID"]))

    def create(self, instance: str, holder: str, duration_s: float, token: str = "") -> LeaseRecord:
        """Make the lease held by ``holder`` (and ``token``); its version is not known yet (None). One request.

        Raises ``NameTaken`` if another replica made it first."""
        labels = {
            MANAGED_BY: instance,
            KIND: LEASE_KIND,
            **_lease_labels(holder, token, renewals=0, transitions=0, duration_s=duration_s),
        }
        spec = {"Name": lease_config_name(instance), "Labels": labels, "Data": _DATA}
        config_id = self.swarm.create_config(spec)
        with self._lock:
            self._specs[config_id] = spec
        return _record(labels, None, config_id)

    def write(self, record: LeaseRecord, **changes: Any) -> LeaseRecord:
        """Compare-and-swap: write ``record`` with ``changes`` (fields of ``LeaseRecord`` except version and
        config_id) if the config is still at ``record.version``; raises ``VersionConflict`` if it is not.

        One request when the config's spec is known (it is after any ``read`` or ``create`` by this
        store). Returns the record as written, with ``version=None``: the update answers with no body.
        """
        if {"version", "config_id"} & changes.keys():
            raise ValueError("version and config_id are Swarm's, not the lease's")
        if record.version is None:
            raise ValueError("a compare-and-swap needs the version the record was read at")
        wanted = dataclasses.replace(record, **changes)
        with self._lock:
            spec = self._specs.get(record.config_id)
        if spec is None:  # a record from another store: learn the name, data and other labels once
            found = self.swarm.get(f"/configs/{record.config_id}")
            spec = found.get("Spec") or {}
        labels = {
            **(spec.get("Labels") or {}),
            **_lease_labels(wanted.holder, wanted.token, wanted.renewals, wanted.transitions, wanted.duration_s),
        }
        body = {"Name": spec["Name"], "Labels": labels, "Data": spec.get("Data", _DATA)}
        self.swarm.update_config(record.config_id, record.version, body)
        with self._lock:
            self._specs[record.config_id] = body
        return dataclasses.replace(wanted, version=None)


def _record(labels: dict[str, str], version: int | None, config_id: str) -> LeaseRecord:
    return LeaseRecord(
        holder=labels.get(HOLDER, ""),
        renewals=_int(labels.get(RENEWALS)),
        transitions=_int(labels.get(TRANSITIONS)),
        duration_s=_float(labels.get(DURATION)),
        version=version,
        config_id=config_id,
        token=labels.get(TOKEN, ""),
    )


def _lease_labels(holder: str, token: str, renewals: int, transitions: int, duration_s: float) -> dict[str, str]:
    return {
        HOLDER: holder,
        TOKEN: token,
        RENEWALS: str(renewals),
        TRANSITIONS: str(transitions),
        DURATION: repr(float(duration_s)),
    }


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
