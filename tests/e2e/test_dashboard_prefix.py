"""The dashboard under a path prefix, as behind Traefik's StripPrefix, in headless Chromium: a proxy
on 127.0.0.1 serves it at /reconciler/ (stripping the prefix, with or without sending
X-Forwarded-Prefix), and the stylesheet, the links and the live refresh all stay under the prefix.
The controller runs on the in-memory swarm: only the browser and the proxy are real here."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from selenium.webdriver.common.by import By

from reconciler.runtime.controller import Controller, ControllerConfig
from reconciler.runtime.dashboard import Dashboard, is_dashboard_path
from reconciler.runtime.http_server import ControllerHTTP
from reconciler.runtime.metrics import Metrics
from reconciler.swarm.fake import FakeSwarm
from tests.e2e.browser import chromium
from tests.e2e.test_controller_process import wait_for

pytestmark = pytest.mark.engine_agnostic  # the dashboard behind Traefik's stripped prefix

API = "reconciler.swarm/v1alpha1"
PREFIX = "/reconciler"


@contextmanager
def stripping_proxy(upstream: str, send_prefix: bool) -> Iterator[str]:
    """A reverse proxy on 127.0.0.1 that serves ``upstream`` under PREFIX, as StripPrefix does."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not self.path.startswith(PREFIX + "/"):
                self.send_error(404)
                return
            seen.append(self.path)
            headers = {"X-Forwarded-Prefix": PREFIX} if send_prefix else {}
            request = urllib.request.Request(upstream + self.path.removeprefix(PREFIX), headers=headers)
            try:
                with urllib.request.urlopen(request, timeout=5) as answer:
                    status, kind, body = answer.status, answer.headers["Content-Type"], answer.read()
            except urllib.error.HTTPError as exc:
                status, kind, body = exc.code, exc.headers["Content-Type"], exc.read()
            self.send_response(status)
            self.send_header("Content-Type", kind or "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{PREFIX}/"
    finally:
        server.shutdown()
        server.server_close()


def write(folder: Path, replicas: int) -> None:
    docs = [
        {"apiVersion": API, "kind": "Network", "metadata": {"name": "net"}, "spec": {}},
        {"apiVersion": API, "kind": "Service", "metadata": {"name": "web"},
         "spec": {"image": "x:1", "networks": ["net"], "replicas": replicas}},
    ]  # fmt: skip
    (folder / "m.yaml").write_text(yaml.safe_dump_all(docs))


@pytest.mark.parametrize("send_prefix", [True, False], ids=["X-Forwarded-Prefix", "relative-links"])
def test_the_dashboard_works_under_a_stripped_prefix(tmp_path: Path, send_prefix: bool) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    write(folder, 1)
    ctl = Controller(ControllerConfig(folder, instance="prefix", watch=False, events=False), FakeSwarm())
    ctl.pass_once()
    dashboard = Dashboard(ctl.dashboard_state, ctl.object_detail, ctl.journal)
    http = ControllerHTTP("127.0.0.1:0", Metrics(), ctl.status, ctl.ready, lambda: True,
                          pages=lambda p, q, h: dashboard.answer(p, q, h) if is_dashboard_path(p) else None)  # fmt: skip
    with http, stripping_proxy(f"http://127.0.0.1:{http.port}", send_prefix) as url, chromium(tmp_path / "p") as driver:
        driver.get(url)
        header = driver.find_element(By.TAG_NAME, "header")
        assert header.value_of_css_property("background-color") == "rgba(36, 41, 47, 1)"  # the CSS loaded
        row = driver.find_element(By.CSS_SELECTOR, 'tr[data-key="Service/web"]')
        assert "in sync" in row.text
        driver.execute_script("window.__notReloaded = true;")
        write(folder, 2)
        ctl.pass_once()  # the live refresh (through the proxy, under the prefix) shows the change
        applied = 'tr[data-kind="applied"]'
        wait_for(lambda: any("Service/web" in r.text for r in driver.find_elements(By.CSS_SELECTOR, applied)), 10)
        assert driver.execute_script("return window.__notReloaded === true;"), "the page was reloaded"
        driver.find_element(By.LINK_TEXT, "web").click()
        wait_for(lambda: driver.find_elements(By.ID, "object-key"), timeout=10)
        assert driver.current_url == f"{url}objects/Service/web"
        assert "no difference" in driver.find_element(By.ID, "diff").text
        driver.find_element(By.LINK_TEXT, "Events").click()
        wait_for(lambda: driver.current_url == f"{url}events", timeout=10)
        time.sleep(2.5)  # one live refresh from the events page, through the proxy
        assert driver.find_elements(By.CSS_SELECTOR, applied)
        assert driver.find_element(By.ID, "live-indicator").text == "live"  # the last refresh worked
