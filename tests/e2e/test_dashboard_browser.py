"""The dashboard in a real headless Chromium, against a controller process on the lab: it lists the
objects, shows a service turn Degraded after a placement constraint no node satisfies and Healthy
again after the fix without a reload, and shows the drift event after a hand edit. The same run
checks the notifications a JSON receiver on 127.0.0.1 gets (one per condition) and takes the
README's screenshot (docs/dashboard.png)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.browser import chromium
from tests.e2e.test_controller_process import replicas, wait_for
from tests.integration.conftest import Workspace
from tests.json_receiver import receiver

# The dashboard in a browser: health and drift per engine are proved by the contract and truth tests.
pytestmark = pytest.mark.engine_agnostic

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


def manifests(ws: Workspace, busybox: str, *, broken: bool = False) -> list[dict[str, Any]]:
    web: dict[str, Any] = {"image": busybox, "args": ["sleep", "3600"], "replicas": 1, "networks": [ws.name("net")]}
    if broken:
        web["placement"] = {"constraints": ["node.labels.srlab-nowhere == yes"]}
    return [
        ws.doc("Network", "net", {}),
        ws.doc("Service", "web", web),
        ws.doc("Service", "api", {"image": busybox, "args": ["sleep", "3600"], "replicas": 1,
                                  "networks": [ws.name("net")]}),
        ws.doc("Route", "web", {"service": ws.name("web"), "port": 80, "hosts": ["www.example.org"],
                                "entryPoints": ["web"]}),
    ]  # fmt: skip


def health_in_table(driver: WebDriver, key: str) -> str:
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-key="{key}"]')
    return str(row.find_element(By.CSS_SELECTOR, '[data-field="health"]').text)


def test_the_dashboard_follows_health_and_drift_live_and_notifications_are_said_once(
    ws: Workspace, busybox: str, tmp_path: Path
) -> None:
    web = f"Service/{ws.name('web')}"
    ws.write(*manifests(ws, busybox))
    with receiver() as got:
        urls = tmp_path / "notify-urls"
        urls.write_text(f"# the test's receiver\n{got.url}\n")
        extra = ("--manifests", str(ws.folder), "--no-leader-election", "--notify-urls-file", str(urls))
        with replicas(ws, "dash", extra=extra) as (replica,), chromium(tmp_path / "profile") as driver:
            wait_for(lambda: replica.get("/readyz")[0] == 200, timeout=60)
            driver.get(f"http://127.0.0.1:{replica.port}/")
            driver.execute_script("window.__notReloaded = true;")  # gone if the page ever reloads
            for key in (web, f"Service/{ws.name('api')}", f"Network/{ws.name('net')}"):
                wait_for(lambda key=key: driver.find_elements(By.CSS_SELECTOR, f'tr[data-key="{key}"]'), timeout=30)
            wait_for(lambda: health_in_table(driver, web) == "Healthy", timeout=60, step=0.3)
            # The shared lab may fail a first task (another test's network pool overlapping for a
            # moment): that is said too, truthfully; only what follows is counted below.
            time.sleep(0.5)
            before = len(got.bodies)

            ws.write(*manifests(ws, busybox, broken=True))  # no node satisfies the constraint
            wait_for(lambda: health_in_table(driver, web) == "Degraded", timeout=60, step=0.3)
            row = driver.find_element(By.CSS_SELECTOR, f'tr[data-key="{web}"]').text
            assert "no suitable node" in row, row
            time.sleep(1)  # the next refresh has settled the page for the screenshot
            driver.save_screenshot(str(SCREENSHOT))

            ws.write(*manifests(ws, busybox))  # the fix
            wait_for(lambda: health_in_table(driver, web) == "Healthy", timeout=60, step=0.3)
            assert driver.execute_script("return window.__notReloaded === true;"), "the page was reloaded"

            # A hand edit: the controller puts it back, and the events page says so.
            name = ws.name("web")
            done = subprocess.run(["docker", "service", "update", "-d", "--label-add", "edited=by-hand", name],
                                  env=ws.lab.env(), capture_output=True, text=True, timeout=60)  # fmt: skip
            assert done.returncode == 0, done.stderr
            driver.find_element(By.LINK_TEXT, "Events").click()
            wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, 'tr[data-kind="drift-repaired"]'), timeout=30)
            drift = driver.find_element(By.CSS_SELECTOR, 'tr[data-kind="drift-repaired"]').text
            assert web in drift, drift

            # The object's page: its diff (none now), rendered Traefik labels and its events.
            driver.find_element(By.LINK_TEXT, web).click()
            wait_for(lambda: driver.find_elements(By.ID, "object-key"), timeout=10)
            page = driver.find_element(By.TAG_NAME, "body").text
            assert "traefik.http.routers." in page and "Host(`www.example.org`)" in page, page
            assert "health degraded" in page and "health recovered" in page and "drift repaired" in page
            driver.get(f"http://127.0.0.1:{replica.port}/")
            assert health_in_table(driver, web) == "Healthy"
        wait_for(lambda: len(got.bodies) >= before + 3, timeout=20)
        time.sleep(1.0)
    about_web = [t for t in got.titles()[before:] if t.endswith(web)]
    assert sorted(about_web) == sorted([f"health degraded {web}", f"health recovered {web}",
                                        f"drift repaired {web}"]), got.titles()  # fmt: skip
