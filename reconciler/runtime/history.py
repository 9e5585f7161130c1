"""What the dashboard shows beside ``/status`` that the controller must remember between passes:
when the revision was read and applied, when each object last changed and last drifted, each
object's field-level diff as of the last pass, and what is rendered for an object (its Traefik
labels, a VirtualIP's ``keepalived.conf``).

The diff is ``Change.as_json`` — the very data ``reconciler diff -o json`` prints for the object —
with Secret values redacted. ``rendered_for`` never returns a Secret's or a Config's data: only
labels and the keepalived template, which reads its password with Swarm's ``{{ secret }}`` function.
Fed and read by ``reconciler.runtime.controller``; thread-safe.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from reconciler.core.keys import ResourceKey
from reconciler.core.swarm_names import scoped
from reconciler.render.keepalived import keepalived_template
from reconciler.state.desired import DesiredState
from reconciler.state.plan import Action, Plan

__all__ = ["ObjectHistory", "rendered_for"]


class ObjectHistory:
    """Times and diffs per object, and the revision's times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._changed: dict[str, float] = {}
        self._drifted: dict[str, float] = {}
        self._changes: dict[str, dict[str, Any]] = {}
        self._revision: dict[str, Any] = {"commit": None, "read_at": None, "applied_at": None}
        self.next_resync_at: float | None = None  # time.time() of the next periodic pass

    def revision_read(self, revision: str) -> None:
        with self._lock:
            if self._revision["commit"] != revision:
                self._revision = {"commit": revision, "read_at": time.time(), "applied_at": None}

    def revision_applied(self, revision: str) -> None:
        with self._lock:
            if self._revision["commit"] == revision:
                self._revision["applied_at"] = time.time()

    def revision_times(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._revision)

    def changed(self, key: str, drift: bool) -> None:
        now = time.time()
        with self._lock:
            self._changed[key] = now
            if drift:
                self._drifted[key] = now

    def times(self, key: str) -> dict[str, float | None]:
        with self._lock:
            return {"changed_at": self._changed.get(key), "drifted_at": self._drifted.get(key)}

    def set_plan(self, plan: Plan) -> None:
        """Each object's change as of the pass that just ended (the plan after applying). A change
        applied in the pass keeps the diff it had before (``after_apply``): it differs no more, so
        its diff now is empty, as ``diff`` would print it."""
        changes = {}
        for c in plan.changes:
            found = c.as_json(redact=c.kind == "Secret")
            if c.action is Action.NOOP and c.state.settled:
                found["diff"] = []
            changes[str(c.key)] = found
        with self._lock:
            self._changes = changes

    def change(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._changes.get(key)


def rendered_for(desired: DesiredState | None, key: str) -> dict[str, Any] | None:
    """What the reconciler renders for ``key``: ``{"kind": "labels", "labels": {...}}`` (the Traefik
    labels of a Service, or of the services a Route or Middleware reaches) or ``{"kind":
    "keepalived.conf", "text": ...}``; None when nothing is rendered for it (or the manifests are unread)."""
    if desired is None:
        return None
    try:
        parsed = ResourceKey.parse(key)
    except ValueError:
        return None
    if parsed.kind == "VirtualIP":
        vip = next((v for v in desired.vips if v.name == parsed.name), None)
        if vip is None:
            return None
        try:
            # The template every node receives; node IDs are filled in at apply time from the swarm,
            # so priorities here are by hostname. The password stays a {{ secret }} reference.
            return {"kind": "keepalived.conf", "text": keepalived_template(vip, {})}
        except ValueError as exc:
            return {"kind": "keepalived.conf", "text": f"# not rendered without the swarm's node IDs: {exc}"}
    labels: dict[str, str] = {}
    traefik = scoped(parsed.namespace, parsed.name)  # a namespace's routers are <ns>_<name> (render.traefik)
    for obj in desired.objects:
        if obj.swarm_kind != "service":
            continue
        own = {k: str(v) for k, v in (obj.spec.get("Labels") or {}).items() if k.lower().startswith("traefik.")}
        if parsed.kind == "Service" and obj.key == parsed:
            labels.update(own)
        elif parsed.kind in ("Route", "Middleware"):
            labels.update({k: v for k, v in own.items() if f".{traefik}." in k or k.endswith(f".{traefik}")})
    if parsed.kind in ("Route", "Middleware"):
        for _, (_, owned) in desired.route_labels.items():
            labels.update({k: v for k, v in owned.items() if f".{traefik}." in k})
    if parsed.kind not in ("Service", "Route", "Middleware"):
        return None
    return {"kind": "labels", "labels": dict(sorted(labels.items()))}
