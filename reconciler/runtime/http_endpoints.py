"""A request's method and path → the controller's answer: ``/healthz`` and ``/readyz`` become probe
verdicts, ``/metrics`` the Prometheus text of a ``Metrics``, ``/status`` the JSON of a status snapshot,
``POST /hooks/git`` a call to the Git webhook (which only wakes the sync); anything else 404 or 405.

``Endpoints`` knows nothing of sockets or of the controller: it calls the callbacks it is given and
returns an ``Answer``. The request handler (``reconciler.runtime.http_handler``) asks it for every
request, and reads the body only for the webhook. Built by ``reconciler.runtime.http_server.ControllerHTTP``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.runtime.metrics import Metrics

__all__ = ["ROUTES", "TEXT", "WEBHOOK_PATH", "Answer", "Endpoints", "Pages", "Webhook"]

Webhook = Callable[[bytes, Mapping[str, str]], tuple[int, str]]
"""``(body, headers) -> (status, text)``; headers are looked up case-insensitively."""

Pages = Callable[[str, str, Mapping[str, str]], "Answer | None"]
"""``(path, query, headers) -> answer`` for a GET of a path none of ``ROUTES`` serves, or None when it
is not one of the pages' either: the dashboard (``reconciler.runtime.dashboard``)."""

WEBHOOK_PATH = "/hooks/git"
TEXT = "text/plain; charset=utf-8"

_GET = frozenset({"GET", "HEAD"})
ROUTES: Mapping[str, frozenset[str]] = {
    "/healthz": _GET,
    "/readyz": _GET,
    "/metrics": _GET,
    "/status": _GET,
    WEBHOOK_PATH: frozenset({"POST"}),
}
"""Every path served, with the methods it allows."""


@dataclass(frozen=True)
class Answer:
    """A response: status, body, its content type and any further headers."""

    status: int
    body: str | bytes
    content_type: str = TEXT
    headers: Mapping[str, str] = field(default_factory=dict)


class Endpoints:
    """The callbacks behind the routes. Called on request threads, concurrently; exceptions propagate
    (the handler answers 500 and logs them)."""

    def __init__(
        self,
        metrics: Metrics,
        status: Callable[[], dict[str, Any]],
        ready: Callable[[], bool],
        healthy: Callable[[], bool],
        webhook: Webhook | None = None,
        pages: Pages | None = None,
    ) -> None:
        self.pages = pages
        self.metrics = metrics
        self.status = status
        self.ready = ready
        self.healthy = healthy
        self.webhook = webhook

    def answer(
        self, method: str, path: str, query: str = "", headers: Mapping[str, str] | None = None
    ) -> Answer | None:
        """The answer to ``method`` on ``path`` (``query`` and ``headers`` only matter to the pages);
        None for a call of the webhook, whose answer needs the request's body: ``call_webhook``."""
        allowed = ROUTES.get(path)
        if allowed is None:
            page = self._page(method, path, query, headers or {})
            return page if page is not None else Answer(404, "not found\n")
        if method not in allowed:
            return Answer(405, "method not allowed\n", headers={"Allow": ", ".join(sorted(allowed))})
        if path == "/healthz":
            ok = self.healthy()
            return Answer(200 if ok else 503, "ok\n" if ok else "unhealthy\n")
        if path == "/readyz":
            ok = self.ready()
            return Answer(200 if ok else 503, "ok\n" if ok else "not ready\n")
        if path == "/metrics":
            return Answer(200, self.metrics.render(), content_type=self.metrics.content_type)
        if path == "/status":
            # Strict JSON (no NaN): a status that cannot be encoded is a bug to log, not to paper over.
            return Answer(200, json.dumps(self.status(), allow_nan=False) + "\n", content_type="application/json")
        if self.webhook is None:
            return Answer(404, "no webhook configured\n")
        return None

    def _page(self, method: str, path: str, query: str, headers: Mapping[str, str]) -> Answer | None:
        if self.pages is None:
            return None
        page = self.pages(path, query, headers)
        if page is not None and method not in _GET:  # the dashboard is read-only
            return Answer(405, "method not allowed\n", headers={"Allow": "GET, HEAD"})
        return page

    def call_webhook(self, body: bytes, headers: Mapping[str, str]) -> Answer:
        """The webhook's answer to ``body``; ``TypeError`` if it returned something other than
        ``(status 200-599, str)``."""
        if self.webhook is None:
            return Answer(404, "no webhook configured\n")
        status, text = self.webhook(body, headers)
        if not (isinstance(status, int) and 200 <= status <= 599 and isinstance(text, str)):
            raise TypeError(f"webhook returned {(status, text)!r}; expected (status 200-599, str)")
        return Answer(status, text)
