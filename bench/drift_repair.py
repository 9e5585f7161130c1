"""2. Drift repair: a managed object changed behind the controller's back, until it is put back.

Three kinds of drift, each repeated: a route label removed from the service, a managed network
deleted, the service scaled. The controller runs in this process with a resync of an hour, so only the
Docker event path repairs. Timed from the moment the drifting API call has returned until the object
is restored (polled every 5 ms).

Baseline: the duration of the API call that makes the drift itself (the same kind of write the
repair needs). Also recorded, not as the baseline: the event latency, from the start of that call until
this process's own event stream delivers Docker's event for it.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from bench.common import Context, CountingSwarm, Row, doc, running_controller, summary, wait_for, write_atomically

SERVICE = "bench-drift"
NETWORK = "bench-drift-net"
ROUTE_LABEL = f"traefik.http.routers.{SERVICE}.rule"
GOAL_MS = 500.0


class _Events:
    """Docker's service and network events, with the time this process received each."""

    def __init__(self, swarm: CountingSwarm) -> None:
        self.swarm = swarm
        self.seen: list[tuple[float, str, str, str]] = []  # received, type, action, name
        self._stream: Any = None
        self._thread = threading.Thread(target=self._run, name="bench-events", daemon=True)
        self._ready = threading.Event()

    def _run(self) -> None:
        self._stream = self.swarm.events(["service", "network"])
        self._ready.set()
        with suppress(Exception):  # closed on stop
            for event in self._stream:
                name = str((event.get("Actor") or {}).get("Attributes", {}).get("name", ""))
                self.seen.append((time.perf_counter(), str(event.get("Type")), str(event.get("Action")), name))

    def start(self) -> _Events:
        self._thread.start()
        self._ready.wait(10)
        return self

    def stop(self) -> None:
        if self._stream is not None:
            with suppress(Exception):
                self._stream.close()
        self._thread.join(timeout=2)

    def first_after(self, began: float, kind: str, name: str, actions: tuple[str, ...]) -> float | None:
        for received, type_, action, who in list(self.seen):
            if received >= began and type_ == kind and who == name and action in actions:
                return received - began
        return None


def run(ctx: Context) -> list[Row]:
    repeats = 10 if ctx.quick else 15
    folder = ctx.folder("drift-repair")
    write_atomically(
        folder / "app.yaml",
        doc("Network", NETWORK, {"attachable": True}),
        doc("Service", SERVICE, {"image": ctx.busybox, "replicas": 0, "labels": {"keep": "me"}}),
        doc("Route", SERVICE, {"service": SERVICE, "port": 8080, "hosts": ["drift.bench.test"]}),
    )
    hand = ctx.swarm()
    events = _Events(ctx.swarm(timeout=3600)).start()

    def service() -> dict[str, Any]:
        found: dict[str, Any] = hand.get(f"/services/{SERVICE}")
        return found

    def network_id() -> str | None:
        try:
            return str(hand.get(f"/networks/{NETWORK}")["Id"])
        except Exception:
            return None

    def replicas() -> int:
        return int(service()["Spec"]["Mode"]["Replicated"]["Replicas"])

    def update(mutate: Callable[[dict[str, Any]], None]) -> None:
        live = service()
        spec = copy.deepcopy(live["Spec"])
        mutate(spec)
        hand.update_service(live["ID"], live["Version"]["Index"], spec)

    def drop_route_label(spec: dict[str, Any]) -> None:
        spec["Labels"].pop(ROUTE_LABEL)

    def scale_up(spec: dict[str, Any]) -> None:
        spec["Mode"]["Replicated"]["Replicas"] = 2

    results: dict[str, dict[str, list[float]]] = {}
    timeouts: dict[str, int] = {}
    with running_controller(folder, ctx.swarm(), resync_s=3600) as ctl:
        if (
            wait_for(lambda: ROUTE_LABEL in service()["Spec"]["Labels"], timeout=30) is None
            or wait_for(lambda: network_id() is not None, timeout=10) is None
            or wait_for(ctl.ready, timeout=10) is None
        ):
            raise RuntimeError("the controller did not converge the drift fixtures within 50 s")
        for kind in ("route label removed", "network deleted", "service scaled 0→2"):
            got = results.setdefault(kind, {"repair": [], "call": [], "event": []})
            for _ in range(repeats):
                time.sleep(0.4)  # an idle controller (the events of the last repair have passed)
                began = time.perf_counter()
                if kind == "route label removed":
                    update(drop_route_label)
                    ended = time.perf_counter()
                    took = wait_for(lambda: ROUTE_LABEL in service()["Spec"]["Labels"], timeout=10)
                    event = events.first_after(began, "service", SERVICE, ("update",))
                elif kind == "network deleted":
                    old = network_id()
                    assert old is not None
                    began = time.perf_counter()
                    hand.remove_network(old)
                    ended = time.perf_counter()
                    took = wait_for(lambda old=old: network_id() not in (None, old), timeout=10)  # type: ignore[misc]
                    event = events.first_after(began, "network", NETWORK, ("destroy", "remove"))
                else:
                    update(scale_up)
                    ended = time.perf_counter()
                    took = wait_for(lambda: replicas() == 0, timeout=10)
                    event = events.first_after(began, "service", SERVICE, ("update",))
                got["call"].append(ended - began)
                if took is None:
                    timeouts[kind] = timeouts.get(kind, 0) + 1
                    continue
                got["repair"].append(took)
                if event is not None:
                    got["event"].append(event)
    events.stop()
    hand.close()

    rows: list[Row] = []
    ctx.details["drift_repair"] = {"repeats": repeats, "timeouts": timeouts, "poll_step_s": 0.005}
    for kind, got in results.items():
        repair, call, delivered = summary(got["repair"]), summary(got["call"]), summary(got["event"])
        ctx.details["drift_repair"][kind] = {"repair_s": repair, "drift_call_s": call, "event_latency_s": delivered}
        p50 = (repair["p50"] or 0) * 1000
        note = (
            f"event delivered {delivered['p50'] * 1000:.0f} ms after the drift call began (p50)"
            if delivered["p50"]
            else ""
        )
        if timeouts.get(kind):
            note += f"; {timeouts[kind]} not repaired within 10 s"
        rows.append(Row("J drift repair", f"{kind}: p50 of {repair['n']}", p50, "ms", (call["p50"] or 0) * 1000,
                        "the drifting API call itself", f"p50 < {GOAL_MS:.0f} ms", p50 < GOAL_MS, note))  # fmt: skip
    return rows
