"""Plans, progress events and apply summaries for people (``cli.styled`` lines: rich on a terminal,
their characters elsewhere) and machines (JSON)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from reconciler.cli.styled import Line, Out
from reconciler.engine.events import ChangeFinished, ChangeStarted, Event, Observed, OutcomeStatus, Waiting
from reconciler.state.diffing import MISSING
from reconciler.state.health import HealthState
from reconciler.state.plan import Action, Change, ObjectState, Plan
from reconciler.state.readable_diff import ReadableDiff, readable_diffs

if TYPE_CHECKING:  # what apply shows: diff prints plans only, and imports none of applying (issue 18)
    from reconciler.engine.applying import ApplyResult
    from reconciler.engine.fixpoint import NotConverging
    from reconciler.engine.rollout import RolloutOutcome

__all__ = ["EventPrinter", "plan_lines", "print_plan", "print_summary", "result_json"]

_STYLE = {
    Action.CREATE: ("+", "green"),
    Action.UPDATE: ("~", "yellow"),
    Action.REPLACE: ("±", "magenta"),
    Action.DELETE: ("-", "red"),
    Action.NOOP: ("=", "dim"),
    Action.BLOCKED: ("!", "bold red"),
    Action.CONFLICT: ("?", "bold red"),
}
_OUTCOME_STYLE = {
    OutcomeStatus.DONE: "green",
    OutcomeStatus.NOOP: "dim",
    OutcomeStatus.KEPT: "yellow",
    OutcomeStatus.FAILED: "bold red",
    OutcomeStatus.SKIPPED: "red",
    OutcomeStatus.BLOCKED: "bold red",
    OutcomeStatus.CONFLICT: "bold red",
    OutcomeStatus.RETRY: "yellow",
}


def _value(value: Any, secret: bool) -> str:
    if value is MISSING:
        return "(none)"
    if secret:
        return "<redacted>"
    return json.dumps(value, sort_keys=True, default=str)


def _change_lines(change: Change, verbose: bool) -> list[Line]:
    sign, style = _STYLE[change.action]
    head = Line(f"{sign} {change.key}", style=style)
    if change.swarm_name and change.swarm_name != change.name:
        head.append(f" ({change.swarm_name})", style="dim")
    head.append(f"  {change.action.value}", style=style)
    if change.drift:
        head.append("  DRIFT", style="bold yellow")
    if change.reason:
        head.append(f": {change.reason}", style="dim" if change.action is Action.NOOP else "")
    lines = [head]
    lines += [Line(f"    note: {notice.text}", style="yellow") for notice in change.notices]
    if change.health is not None and not change.health.healthy and change.health.state is not HealthState.MISSING:
        lines.append(Line(f"    health: {change.health.state.value}: {change.health.reason}", style="bold yellow"))
    if change.action in (Action.UPDATE, Action.REPLACE, Action.BLOCKED) or (verbose and change.action is Action.CREATE):
        lines += _diff_lines(str(change.key), readable_diffs(str(change.key), change.diff), change.kind == "Secret")
    return lines


def _diff_lines(owner: str, diffs: list[ReadableDiff], secret: bool) -> list[Line]:
    """kubectl-diff-like lines: the object's own fields, then each Route's and Middleware's under its name;
    a list's changed entries under the list's field, one per line with - or +."""
    lines: list[Line] = []
    owners = [owner, *sorted({d.owner for d in diffs} - {owner})]
    for who in owners:
        mine = [d for d in diffs if d.owner == who]
        if not mine:
            continue
        indent = "    "
        if who != owner:
            lines.append(Line(f"  ~ {who}", style="yellow").append(f" (labels on {owner})", style="dim"))
            indent = "      "
        listed: str | None = None
        for diff in mine:
            if diff.entry:
                if diff.field != listed:
                    lines.append(Line(f"{indent}{diff.field}:"))
                    listed = diff.field
                sign, style, value = ("+", "green", diff.after) if diff.op == "add" else ("-", "red", diff.before)
                lines.append(Line(f"{indent}  {sign} {_value(value, secret)}", style=style))
                continue
            listed = None
            line = Line(f"{indent}{diff.field}: ")
            line.append(_value(diff.before, secret), style="red")
            line.append(" → ")
            line.append(_value(diff.after, secret), style="green")
            lines.append(line)
    return lines


def print_plan(out: Out, plan: Plan, show_noop: bool = False) -> None:
    """``plan_lines`` printed as one text: rich's ``print`` costs ~0.1 ms a call (console options,
    the terminal size, a write), so a plan of a few hundred objects not in the manifests printed line
    by line took 50 ms of a no-op ``apply`` (issue 18). Where no styles are written (a pipe, a file),
    the characters go as they are (``Out``). The output is the same (``tests/unit/test_plan_view.py``)."""
    out.print(plan_lines(plan, show_noop))


def plan_lines(plan: Plan, show_noop: bool = False) -> list[Line]:
    """The changes to show (``show_noop``: those in sync too), their field diffs, then the summary line."""
    shown = [
        c
        for c in plan.changes
        if show_noop
        or c.action is not Action.NOOP
        or c.state in (ObjectState.NOT_IN_MANIFESTS, ObjectState.RETAINED)
        or (c.health is not None and not c.health.healthy)
    ]
    lines = [line for change in shown for line in _change_lines(change, verbose=False)]
    summary = _summary(plan)
    verdict = "in sync" if plan.in_sync else "differs"
    unhealthy = [c for c in plan.changes if c.health is not None and not c.health.healthy]
    if unhealthy:
        verdict += f"; {len(unhealthy)} not healthy"
    lines.append(Line(f"Plan: {summary} — {verdict}.", style="bold green" if plan.in_sync else "bold yellow"))
    return lines


def _summary(plan: Plan) -> str:
    """``2 to create, 1 to update, 12 unchanged`` (kubectl's and terraform's words); only what is there."""
    words = {"to_create": "to create", "to_update": "to update", "to_replace": "to replace",
             "to_delete": "to delete", "blocked": "blocked", "conflicts": "in conflict", "unchanged": "unchanged"}  # fmt: skip
    parts = [f"{n} {words[key]}" for key, n in plan.summary().items() if n]
    return ", ".join(parts) or "nothing managed"


class EventPrinter:
    """Streams the engine's events as progress lines: styled ``Line``\\ s (no markup to parse, so a
    key with a ``[`` prints as it is), soft-wrapped (the terminal wraps a long line): about 7× cheaper
    a line than a markup string, which a cold apply of hundreds of services felt (issue 18). Where no
    styles are written (a pipe, a file, a log), a line is its characters, written and flushed without
    rich (~0.1 ms a line, 40 ms of a cold apply of 200 services and routes); the bytes are rich's
    (``tests/unit/test_plan_view.py``)."""

    def __init__(self, out: Out) -> None:
        self.out = out

    def _line(self, text: Line) -> None:
        self.out.print([text], soft_wrap=True, flush=True)

    def __call__(self, event: Event) -> None:
        if isinstance(event, Observed):
            self._line(Line(f"observed {event.objects} objects with {event.requests} requests", style="dim"))
        elif isinstance(event, ChangeStarted):
            self._line(Line(f"… {event.change.action.value} {event.change.key}", style="dim"))
        elif isinstance(event, ChangeFinished):
            text = Line(f"{event.status.value:>8} {event.change.key}", style=_OUTCOME_STYLE[event.status])
            if event.message:
                text.append(f": {event.message}", style="")
            self._line(text)
        elif isinstance(event, Waiting):
            self._line(Line(f"waiting  {event.key}: {event.message}", style="yellow"))


def print_summary(
    out: Out,
    result: ApplyResult,
    not_converging: tuple[NotConverging, ...] = (),
    rollouts: list[RolloutOutcome] | None = None,
) -> None:
    for item in not_converging:
        out.print([Line(f"NOT CONVERGING {item.key}: {item.reason}", style="bold red")])
    for rollout in rollouts or []:
        out.print([Line(f"{'healthy' if rollout.ok else 'ROLLOUT FAILED':>8} {rollout.key}: {rollout.reason}",
                        style="green" if rollout.ok else "bold red")])  # fmt: skip
    counts = result.counts()
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "nothing to do"
    failed = [r for r in rollouts or [] if not r.ok]
    if failed:
        summary += f"; {len(failed)} rollout(s) failed"
    if not_converging:
        summary += f"; {len(not_converging)} not converging"
    ok = result.ok and not failed and not not_converging
    out.print([Line(f"Applied: {summary}.", style="bold green" if ok else "bold red")])


def result_json(
    plan: Plan,
    result: ApplyResult | None,
    not_converging: tuple[NotConverging, ...] = (),
    rollouts: list[RolloutOutcome] | None = None,
) -> dict[str, Any]:
    out = plan.as_json()
    out["outcomes"], out["ok"] = [], plan.in_sync
    if result is not None:
        out["outcomes"] = [
            {"key": o.change.key, "action": o.change.action.value, "status": o.status.value, "message": o.message}
            for o in result.outcomes
        ]
        out["not_converging"] = [{"key": n.key, "reason": n.reason} for n in not_converging]
        out["rollouts"] = [
            {"key": r.key, "ok": r.ok, "health": r.health.state.value, "reason": r.reason} for r in rollouts or []
        ]
        out["ok"] = result.ok and not not_converging and all(r.ok for r in rollouts or [])
    return out
