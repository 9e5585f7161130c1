"""The read-only dashboard: the controller's state as HTML pages on its own listener.

``/`` shows the revision (commit, when read, when applied), the leader and this replica, the last
pass (result, duration, next resync) and a table of every managed object (kind, name, sync and
health state with their reasons, last change, last drift); ``/objects/<Kind>/<name>`` one object's
field-level diff (``diff -o json``'s data), what is rendered for it (Traefik labels, keepalived.conf;
never a secret's value) and its recent events; ``/events`` the journal. ``/ui/state.json`` is the
same data as JSON.

Pages are rendered by Jinja2 from templates shipped as package data, with autoescape on for every
template, so nothing from a manifest or the engine reaches the page as markup. They update
themselves without a reload: ``dashboard.js`` (a few lines, no build step) fetches the page's live
part (``?partial=1``) every two seconds and swaps it in. Links are relative to the page, so the
dashboard works under any path prefix behind a proxy that strips it; an ``X-Forwarded-Prefix``
header (Traefik's StripPrefix sets it) or ``--path-prefix`` makes them absolute instead.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

from reconciler.runtime.http_endpoints import Answer
from reconciler.runtime.journal import Journal

if TYPE_CHECKING:
    import jinja2

__all__ = ["Dashboard", "check_path_prefix", "is_dashboard_path"]

HTML = "text/html; charset=utf-8"
_STATIC = {"dashboard.css": "text/css; charset=utf-8", "dashboard.js": "text/javascript; charset=utf-8"}
# A prefix from a header is only trusted when it is a plain path: it ends up in every link.
_PREFIX = re.compile(r"(/[A-Za-z0-9._~-]+)*/?")
_EVENTS_SHOWN = 200
_OBJECT_EVENTS = 50
_OVERVIEW_EVENTS = 8


def check_path_prefix(prefix: str) -> None:
    """``ValueError`` unless ``prefix`` (``--path-prefix``) is a plain path such as ``/reconciler``."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"path prefix {prefix!r}: expected a path such as /reconciler")


def is_dashboard_path(path: str) -> bool:
    """Whether ``path`` is one of the dashboard's (the other routes are ``http_endpoints``')."""
    return path in ("/", "/events", "/ui/state.json") or path.startswith(("/objects/", "/ui/static/"))


def _when(value: float | None) -> str:
    if value is None:
        return "—"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _ago(value: float | None) -> str:
    if value is None:
        return ""
    seconds = time.time() - value
    future = seconds < 0
    seconds = abs(seconds)
    if seconds < 90:
        text = f"{seconds:.0f} s"
    elif seconds < 5400:
        text = f"{seconds / 60:.0f} min"
    elif seconds < 172800:
        text = f"{seconds / 3600:.0f} h"
    else:
        text = f"{seconds / 86400:.0f} d"
    return f"in {text}" if future else f"{text} ago"


def _css_word(value: Any) -> str:
    """A state or health as a CSS class word (``in sync`` → ``in-sync``)."""
    return re.sub(r"[^a-z0-9]+", "-", str(value or "none").lower()).strip("-")


class Dashboard:
    """Renders the pages from ``state()`` (the controller's ``dashboard_state``, with the manager's
    identities), ``detail(key)`` (``object_detail``) and the ``journal``."""

    def __init__(
        self,
        state: Callable[[], dict[str, Any]],
        detail: Callable[[str], dict[str, Any] | None],
        journal: Journal,
        path_prefix: str = "",
    ) -> None:
        self.state = state
        self.detail = detail
        self.journal = journal
        check_path_prefix(path_prefix)
        self.path_prefix = path_prefix.rstrip("/")
        files = resources.files("reconciler.runtime") / "dashboard_files"
        self._static = {name: (files / "static" / name).read_bytes() for name in _STATIC}
        self._env: jinja2.Environment | None = None

    @property
    def env(self) -> jinja2.Environment:
        """Built at the first page asked for: a controller nobody looks at never imports jinja2 (it
        lowers the controller's memory at start-up, though hardly its peak, issue 18)."""
        if self._env is None:
            import jinja2

            env = jinja2.Environment(
                loader=jinja2.PackageLoader("reconciler.runtime", "dashboard_files/templates"),
                autoescape=True,  # every template, whatever its name: all of it is HTML
                undefined=jinja2.StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
            )
            env.filters.update(when=_when, ago=_ago, css=_css_word, tojson_pretty=self._pretty)
            self._env = env
        return self._env

    @staticmethod
    def _pretty(value: Any) -> str:
        return json.dumps(value, indent=2, sort_keys=True, default=str)

    def answer(self, path: str, query: str, headers: Mapping[str, str]) -> Answer:
        """The answer to GET ``path``?``query``; ``headers`` for ``X-Forwarded-Prefix``."""
        if path.startswith("/ui/static/"):
            name = path.removeprefix("/ui/static/")
            if name not in _STATIC:
                return Answer(404, "not found\n")
            return Answer(200, self._static[name], content_type=_STATIC[name])
        if path == "/ui/state.json":
            body = {**self.state(), "events": [e.as_json() for e in self.journal.entries(limit=_EVENTS_SHOWN)]}
            return Answer(200, json.dumps(body, allow_nan=False, default=str) + "\n", content_type="application/json")
        partial = parse_qs(query).get("partial") == ["1"]
        root = self._root(path, headers)
        if path == "/":
            entries = self.journal.entries(limit=_OVERVIEW_EVENTS)
            return self._page("index", partial, root=root, s=self.state(), entries=entries, title="Overview")
        if path == "/events":
            entries = self.journal.entries(limit=_EVENTS_SHOWN)
            return self._page("events", partial, root=root, s=self.state(), entries=entries, title="Events")
        key = unquote(path.removeprefix("/objects/"))
        found = self.detail(key)
        if found is None:
            return Answer(404, f"no object {key}\n")
        entries = self.journal.entries(key=key, limit=_OBJECT_EVENTS)
        return self._page("object", partial, root=root, s=self.state(), key=key, d=found, entries=entries, title=key)

    def _root(self, path: str, headers: Mapping[str, str]) -> str:
        """The dashboard's root as links from ``path`` must name it: absolute under a known prefix,
        else relative (``./`` from ``/``, ``../../`` from ``/objects/Service/web``)."""
        prefix = headers.get("X-Forwarded-Prefix", "").split(",")[0].strip() or self.path_prefix
        if prefix and _PREFIX.fullmatch(prefix):
            return prefix.rstrip("/") + "/"
        return "../" * (path.count("/") - 1) or "./"

    def _page(self, name: str, partial: bool, **context: Any) -> Answer:
        template = self.env.get_template(f"{name}_live.html" if partial else f"{name}.html")
        return Answer(200, template.render(**context), content_type=HTML)
