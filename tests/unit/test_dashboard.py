"""The dashboard's pages, rendered from a controller on the in-memory swarm and served by the real
HTTP stack on 127.0.0.1: the overview, an object's page with its diff and events, the events page,
the live fragments and the JSON; everything escaped; links relative or under a forwarded prefix;
read-only."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.dashboard import Dashboard, is_dashboard_path
from reconciler.runtime.git_report import GitReport
from reconciler.runtime.http_server import ControllerHTTP
from reconciler.runtime.journal import EntryKind, Journal
from reconciler.runtime.metrics import Metrics
from reconciler.swarm.fake import FakeSwarm

API = "reconciler.swarm/v1alpha1"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Controller, FakeSwarm, str]]:
    docs = [
        {"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}},
        {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"},
         "spec": {"image": "x:1", "networks": ["net"], "labels": {"v": "1"}}},
        {"apiVersion": API, "kind": "Route", "metadata": {"name": "web"},
         "spec": {"service": "web", "port": 80, "hosts": ["www.example.org"], "entryPoints": ["web"]}},
        {"apiVersion": API, "kind": "Secret", "metadata": {"name": "pw"}, "spec": {"file": "pw.txt"}},
    ]  # fmt: skip
    (tmp_path / "m.yaml").write_text(yaml.safe_dump_all(docs))
    (tmp_path / "pw.txt").write_text("hunter2-secret")
    swarm = FakeSwarm()
    journal = Journal()
    ctl = Controller(ControllerConfig(tmp_path, instance="dash", watch=False, events=False), swarm, journal=journal)
    ctl.pass_once()
    dashboard = Dashboard(ctl.dashboard_state, ctl.object_detail, journal)
    http = ControllerHTTP("127.0.0.1:0", Metrics(), ctl.status, ctl.ready, lambda: True,
                          pages=lambda p, q, h: dashboard.answer(p, q, h) if is_dashboard_path(p) else None)  # fmt: skip
    with http:
        yield ctl, swarm, f"http://127.0.0.1:{http.port}"


def get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> tuple[int, str, str]:
    request = urllib.request.Request(url, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_the_overview_lists_every_object_with_its_states_and_links_relative(
    served: tuple[Controller, FakeSwarm, str],
) -> None:
    _, _, base = served
    code, kind, page = get(base + "/")
    assert code == 200 and kind.startswith("text/html")
    for key in ("Network/net", "Service/web", "Secret/pw"):
        assert f'data-key="{key}"' in page
    assert 'href="./objects/Service/web"' in page and 'href="./ui/static/dashboard.css"' in page
    assert "in sync" in page and "converged" in page
    assert "hunter2" not in page


def test_an_object_page_shows_its_diff_rendered_labels_and_events(served: tuple[Controller, FakeSwarm, str]) -> None:
    ctl, swarm, base = served
    service = next(s for s in swarm.snapshot().services if s["Spec"]["Name"] == "web")
    spec = {**service["Spec"], "Labels": {**service["Spec"]["Labels"], "v": "by-hand"}}
    swarm.update_service(service["ID"], service["Version"]["Index"], spec)
    ctl.pass_once()  # repairs the drift
    code, _, page = get(base + "/objects/Service/web")
    assert code == 200
    assert 'src="../../ui/static/dashboard.js"' in page  # relative to /objects/Service/web
    assert "traefik.http.routers." in page and "Host(`www.example.org`)" in page  # the rendered labels
    assert "drift repaired" in page and "by-hand" in page  # the event, with the diff it put back
    assert "no difference" in page  # repaired: the diff now is empty, as `diff` would say
    code, _, page = get(base + "/objects/Secret/pw")
    assert code == 200 and "hunter2" not in page
    assert get(base + "/objects/Service/nope")[0] == 404


def test_everything_is_escaped_and_a_forwarded_prefix_makes_links_absolute(
    served: tuple[Controller, FakeSwarm, str],
) -> None:
    ctl, _, base = served
    ctl.journal.record(EntryKind.ERROR, "", "<script>alert(1)</script>", "rev")
    _, _, page = get(base + "/events")
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    _, _, page = get(base + "/events", {"X-Forwarded-Prefix": "/reconciler"})
    assert 'href="/reconciler/ui/static/dashboard.css"' in page
    _, _, page = get(base + "/events", {"X-Forwarded-Prefix": '/x"><script>'})
    assert "<script>" not in page and 'href="./ui/static/dashboard.css"' in page  # not a plain path: ignored


def test_live_fragments_json_static_files_and_read_only(served: tuple[Controller, FakeSwarm, str]) -> None:
    _, _, base = served
    code, _, fragment = get(base + "/?partial=1")
    assert code == 200 and "<html" not in fragment and 'data-key="Service/web"' in fragment
    code, kind, body = get(base + "/ui/state.json")
    state = json.loads(body)
    assert code == 200 and kind == "application/json"
    assert {o["key"] for o in state["objects"]} >= {"Service/web", "Network/net"}
    assert state["revision_times"]["applied_at"] is not None and state["events"]
    assert get(base + "/ui/static/dashboard.js")[1].startswith("text/javascript")
    assert get(base + "/ui/static/nope.js")[0] == 404
    assert get(base + "/", method="POST")[0] == 405
    assert get(base + "/status")[0] == 200  # the other routes are untouched


def test_a_bad_path_prefix_setting_is_refused() -> None:
    with pytest.raises(ValueError):
        Dashboard(dict, lambda key: None, Journal(), path_prefix="/a b")


def test_a_git_sync_error_is_shown_on_the_overview_and_in_the_events(tmp_path: Path) -> None:
    """Before, a failing Git sync was only under ``git.last_error`` in /status: the overview now says
    it at the top, with the revision that stays, and the journal's ``git sync failed`` entry is in
    the events (``runtime.git_report``)."""
    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"apiVersion": API, "kind": "Network", "metadata": {"name": "n"}}))
    journal = Journal()
    ctl = Controller(
        ControllerConfig(tmp_path, instance="dash", watch=False, events=False), FakeSwarm(), journal=journal
    )
    ctl.pass_once()
    error = "git fetch failed: fatal: could not read from remote <repository>"
    git = {"url": "https://example.org/x.git", "ref": "main", "revision": "abc123", "last_error": error}
    GitReport(journal, Metrics()).failed(RuntimeError(error))
    dashboard = Dashboard(lambda: {**ctl.dashboard_state(), "git": git}, ctl.object_detail, journal)
    page = dashboard.answer("/", "", {}).body
    assert 'id="git-error"' in page and "git sync error" in page and "abc123" in page
    assert "git fetch failed: fatal: could not read from remote &lt;repository&gt;" in page  # escaped
    events = dashboard.answer("/events", "", {}).body
    assert "git sync failed" in events and "&lt;repository&gt;" in events
    quiet = Dashboard(lambda: {**ctl.dashboard_state(), "git": {**git, "last_error": None}}, ctl.object_detail, journal)
    assert 'id="git-error"' not in quiet.answer("/", "", {}).body
