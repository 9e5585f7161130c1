"""The engine commands as a person or a pipeline uses them: confirmation, dry runs, JSON output,
status, invalid manifests and secret redaction."""

from __future__ import annotations

import base64
import json
import re
from types import SimpleNamespace
from typing import Any

import pytest

from reconciler.cli import apply as apply_module
from reconciler.core.labels import MANAGED_BY
from tests.integration.conftest import Workspace

SECRET_TEXT = "hunter2-Zq8xVw3Lp"
NEW_SECRET_TEXT = "correct-horse-7Yt2Rk9M"
POSITION = re.compile(r"manifests\.yaml:(\d+):(\d+): ")


def small(ws: Workspace, busybox: str) -> list[dict[str, Any]]:
    return [
        ws.doc("Network", "net", {}),
        ws.doc("Config", "conf", {"data": "a = 1\n"}),
        ws.doc("Service", "web", {"image": busybox, "replicas": 0, "networks": [ws.name("net")],
                                  "configs": [{"name": ws.name("conf"), "target": "/etc/a.conf"}]}),
    ]  # fmt: skip


def managed(ws: Workspace) -> list[str]:
    """Names of everything this instance owns in the swarm."""
    label = {"label": f"{MANAGED_BY}={ws.instance}"}
    api = ws.client.api
    return sorted(
        [s["Spec"]["Name"] for s in api.services(filters=label)]
        + [n["Name"] for n in api.networks(filters=label)]
        + [c["Spec"]["Name"] for c in api.configs(filters=label)]
        + [c["Spec"]["Name"] for c in api.secrets(filters=label)]
    )


# ------------------------------------------------------------------------------ confirmation, dry run


def test_apply_without_yes_and_without_a_terminal_refuses(ws: Workspace, busybox: str) -> None:
    ws.write(*small(ws, busybox))
    out = ws.cli("apply", str(ws.folder))
    assert out.exit_code == 2
    assert "--yes" in out.stderr and "terminal" in out.stderr
    assert "create" in out.stdout  # the plan was shown first
    as_json = ws.cli("-o", "json", "apply", str(ws.folder))
    assert as_json.exit_code == 2 and "--yes" in as_json.stderr
    assert managed(ws) == []
    # Answering on stdin does not count as a terminal either.
    piped = ws.cli("apply", str(ws.folder), input="y\n")
    assert piped.exit_code == 2 and managed(ws) == []


def test_declining_at_the_prompt_exits_4_and_writes_nothing(
    ws: Workspace, busybox: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws.write(*small(ws, busybox))
    # apply asks only on a terminal; CliRunner's stdin is not one, so apply's view of it is replaced.
    monkeypatch.setattr(apply_module, "sys", SimpleNamespace(stdin=SimpleNamespace(isatty=lambda: True)))
    out = ws.cli("apply", str(ws.folder), input="n\n")
    assert out.exit_code == 4, out.stdout + out.stderr
    assert "Declined: nothing was changed." in out.stderr
    assert "create" in out.stdout  # the plan was shown before the question
    assert managed(ws) == []


def test_dry_run_shows_the_plan_and_changes_nothing(ws: Workspace, busybox: str) -> None:
    ws.write(*small(ws, busybox))
    dry = ws.cli("apply", "--dry-run", str(ws.folder))
    assert dry.exit_code == 5, dry.stdout  # changes pending, nothing changed
    for base in ("net", "conf", "web"):
        assert ws.name(base) in dry.stdout
    assert dry.stdout.count("create: not in the swarm") == 3
    assert "Applied" not in dry.stdout
    assert managed(ws) == []

    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    names = managed(ws)
    assert len(names) == 3

    again = ws.cli("apply", "--dry-run", str(ws.folder))
    assert again.exit_code == 0 and "in sync" in again.stdout

    ws.write(ws.doc("Network", "net", {}))
    prune = ws.cli("-o", "json", "apply", "--dry-run", "--prune", "--yes", str(ws.folder))
    assert prune.exit_code == 5
    plan = json.loads(prune.stdout)
    assert plan["counts"] == {"delete": 2, "noop": 1} and plan["outcomes"] == [] and plan["ok"] is False
    assert managed(ws) == names  # --yes does not turn a dry run into a real one


# -------------------------------------------------------------------------------------------- JSON


def test_json_output_of_diff_and_apply(ws: Workspace, busybox: str) -> None:
    ws.write(*small(ws, busybox))
    diff = ws.cli("-o", "json", "diff", str(ws.folder))
    assert diff.exit_code == 1
    plan = json.loads(diff.stdout)
    assert plan["in_sync"] is False and plan["counts"] == {"create": 3}
    assert [c["action"] for c in plan["changes"]] == ["create"] * 3
    assert [c["key"].split("/")[0] for c in plan["changes"]] == ["Network", "Config", "Service"]
    conf = next(c for c in plan["changes"] if c["key"] == f"Config/{ws.name('conf')}")
    assert conf["swarm_name"].startswith(ws.name("conf") + "-") and conf["diff"]

    applied = ws.cli("-o", "json", "apply", "--yes", str(ws.folder))
    assert applied.exit_code == 0, applied.stderr
    result = json.loads(applied.stdout)  # progress goes to stderr: stdout is only the JSON document
    assert result["ok"] is True and result["in_sync"] is False  # the plan as it was before applying
    assert [c["action"] for c in result["changes"]] == ["create"] * 3
    assert [(o["action"], o["status"]) for o in result["outcomes"]] == [("create", "done")] * 3
    assert all(o["message"].startswith("created ") for o in result["outcomes"])

    after = ws.cli("-o", "json", "diff", str(ws.folder))
    assert after.exit_code == 0
    assert json.loads(after.stdout)["in_sync"] is True
    noop = ws.cli("-o", "json", "apply", "--yes", str(ws.folder))
    assert noop.exit_code == 0 and json.loads(noop.stdout)["in_sync"] is True


# ------------------------------------------------------------------------------------------ status


def test_status_reports_missing_then_in_sync_then_drifted(ws: Workspace, busybox: str) -> None:
    ws.write(*small(ws, busybox))
    missing = ws.cli("status", str(ws.folder))
    assert missing.exit_code == 1
    assert "missing" in missing.stdout and "NOT in sync" in missing.stdout
    objects = {o["key"]: o for o in json.loads(ws.cli("-o", "json", "status", str(ws.folder)).stdout)["objects"]}
    assert {o["state"] for o in objects.values()} == {"missing"}

    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    synced = ws.cli("-o", "json", "status", str(ws.folder))
    assert synced.exit_code == 0
    report = json.loads(synced.stdout)
    assert report["in_sync"] is True and report["instance"] == ws.instance
    assert {o["state"] for o in report["objects"]} == {"in sync"}

    live = ws.service("web")  # someone edits the service by hand
    ws.client.api.update_service(
        live["ID"], live["Version"]["Index"], labels={**live["Spec"]["Labels"], "hand": "edit"}, fetch_current_spec=True
    )
    drifted = ws.cli("status", str(ws.folder))
    assert drifted.exit_code == 1, drifted.stdout
    row = next(line for line in drifted.stdout.splitlines() if line.startswith(f"Service/{ws.name('web')}"))
    assert "drifted" in row and "changed in the swarm since" in drifted.stdout  # the table wraps at 80 columns
    objects = {o["key"]: o for o in json.loads(ws.cli("-o", "json", "status", str(ws.folder)).stdout)["objects"]}
    assert objects[f"Service/{ws.name('web')}"]["state"] == "drifted"
    assert objects[f"Network/{ws.name('net')}"]["state"] == "in sync"
    diff = ws.cli("diff", str(ws.folder))
    assert diff.exit_code == 1 and "DRIFT" in diff.stdout and "hand" in diff.stdout

    assert ws.cli("apply", "--yes", str(ws.folder)).exit_code == 0
    assert ws.cli("status", str(ws.folder)).exit_code == 0
    assert "hand" not in ws.service("web")["Spec"]["Labels"]


# ------------------------------------------------------------------------------- invalid manifests


def test_invalid_manifests_exit_2_with_positions_and_change_nothing(ws: Workspace, busybox: str) -> None:
    good, web = small(ws, busybox)[0], small(ws, busybox)[2]
    web["spec"]["replicas"] = "many"
    ws.write(good, web)
    for command in (("diff",), ("apply", "--yes"), ("apply", "--yes", "--prune"), ("status",)):
        out = ws.cli(*command, str(ws.folder))
        assert out.exit_code == 2, (command, out.stdout, out.stderr)
        found = POSITION.search(out.stderr)
        assert found, out.stderr
        line = out.stderr[found.start() :].splitlines()[0]
        assert f"Service/{ws.name('web')}" in line and "replicas" in line
        assert "Nothing was changed" in out.stderr
        assert "Traceback" not in out.stdout + out.stderr
    text = (ws.folder / "manifests.yaml").read_text().splitlines()
    number = int(POSITION.search(ws.cli("diff", str(ws.folder)).stderr).group(1))
    assert "replicas" in text[number - 1]  # the line really is the offending one
    assert managed(ws) == []

    (ws.folder / "manifests.yaml").write_text(
        "apiVersion: reconciler.swarm/v1alpha1\nkind: Network\nmetadata: {name: [\n"
    )
    broken = ws.cli("apply", "--yes", str(ws.folder))
    assert broken.exit_code == 2 and POSITION.search(broken.stderr), broken.stderr
    as_json = ws.cli("-o", "json", "diff", str(ws.folder))
    assert as_json.exit_code == 2
    problems = json.loads(as_json.stdout)["problems"]
    assert problems and problems[0]["file"].endswith("manifests.yaml") and problems[0]["line"] >= 1
    assert managed(ws) == []


# ---------------------------------------------------------------------------------------- secrets


def test_secret_values_never_appear_in_plans(ws: Workspace, busybox: str) -> None:
    (ws.folder / "token.txt").write_text(SECRET_TEXT)
    docs = [
        ws.doc("Secret", "token", {"file": "token.txt"}),
        ws.doc("Service", "web", {"image": busybox, "replicas": 0, "secrets": [{"name": ws.name("token")}]}),
    ]
    ws.write(*docs)

    def everything_shown() -> str:
        outs = [
            ws.cli("diff", str(ws.folder)),
            ws.cli("diff", "--all", "--prune", str(ws.folder)),
            ws.cli("-o", "json", "diff", "--all", str(ws.folder)),
            ws.cli("status", str(ws.folder)),
            ws.cli("-o", "json", "status", str(ws.folder)),
            ws.cli("apply", "--dry-run", "--prune", str(ws.folder)),
        ]
        return "\n".join(o.stdout + o.stderr for o in outs)

    shown = everything_shown()
    applied = ws.cli("apply", "--yes", str(ws.folder))
    assert applied.exit_code == 0
    shown += applied.stdout + applied.stderr
    assert SECRET_TEXT not in shown

    (ws.folder / "token.txt").write_text(NEW_SECRET_TEXT)
    diff = ws.cli("-o", "json", "diff", "--prune", str(ws.folder))
    assert diff.exit_code == 1
    changes = {(c["key"], c["action"]) for c in json.loads(diff.stdout)["changes"]}
    assert (f"Secret/{ws.name('token')}", "create") in changes  # a new version...
    assert (f"Service/{ws.name('web')}", "update") in changes  # ...that the service switches to
    shown = everything_shown() + diff.stdout + diff.stderr
    rotated = ws.cli("-o", "json", "apply", "--yes", str(ws.folder))
    assert rotated.exit_code == 0, rotated.stdout
    shown += rotated.stdout + rotated.stderr
    text = ws.cli("apply", "--yes", str(ws.folder))
    shown += text.stdout + text.stderr
    for value in (SECRET_TEXT, NEW_SECRET_TEXT):
        assert value not in shown
        assert base64.b64encode(value.encode()).decode() not in shown
