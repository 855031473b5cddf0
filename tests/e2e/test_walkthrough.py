"""The README's walk-through, in headless Chromium, against the processes ``./dev up`` starts.

Start a spike from the fake phone → the alert with diagnosis and commit context arrives → tap
the link → read the approval page → Approve → the demo service receives the signed call and
recovers → the incident's timeline shows AUTHORIZED → EXECUTED → RECOVERED with its chart →
the ledger verifies. Screenshots of the three screens are saved under docs/images/.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
import requests
from django.core.management import call_command
from django.db import connection
from django_tenants.utils import schema_context
from playwright.sync_api import expect, sync_playwright

from devstack.services import free_port
from devstack.stack import Ports, control_plane_env, start_control_plane, start_demo_service, start_fakes
from devstack.supervisor import Supervisor
from incidents.models import Incident

ROOT = Path(__file__).resolve().parents[2]
IMAGES = ROOT / "docs" / "images"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
pytestmark = pytest.mark.browser


@pytest.fixture
def demo_stack(committed_db, test_database_url, tmp_path):
    ports = Ports(web=free_port(), fakes=free_port(), demo_service=free_port())
    data = tmp_path / "data"
    data.mkdir()
    env = control_plane_env({"DATABASE_URL": test_database_url, "REDIS_URL": os.environ["REDIS_URL"]}, ports)
    env |= {"LOOP_INTERVAL_S": "2", "ALERTENGINE_DEV_DATA": str(data)}
    previous = {k: os.environ.get(k) for k in ("ALERTENGINE_DEV_DATA",)}
    os.environ["ALERTENGINE_DEV_DATA"] = str(data)
    call_command("demo_setup", port=ports.web, service_url=ports.demo_service_url, stdout=StringIO())
    supervisor = Supervisor(colour=False)
    try:
        start_fakes(supervisor, ports)
        start_demo_service(supervisor, ports, data_dir=data)
        start_control_plane(supervisor, env, ports, data_dir=data)
        yield ports
    finally:
        supervisor.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _incident():
    """The demo tenant's latest incident, read in a thread of its own: Playwright's sync API runs an
    event loop in this one, where Django refuses database calls."""

    def read():
        try:
            with schema_context("demo"):
                return Incident.objects.order_by("-opened_at").first()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(read).result()


def _wait(predicate, timeout: float, every: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    return None


def test_the_readme_walkthrough(demo_stack):
    ports = demo_stack
    IMAGES.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 420, "height": 1180})
        phone = context.new_page()
        phone.goto(f"{ports.fakes_url}/phone")
        phone.get_by_role("button", name="Start a spike").click()

        # The alert, with the diagnosis and the commit, reaches the phone.
        message = phone.locator(".msg", has_text="Checkout API degraded").filter(has_text="Approve").last
        expect(message).to_be_visible(timeout=60_000)
        expect(message).to_contain_text("Likely cause")
        expect(message).to_contain_text("Fix checkout query isolation level")
        expect(message).to_contain_text("Nothing will run without your approval")
        message.evaluate("element => element.scrollIntoView({block: 'start'})")
        phone.screenshot(path=str(IMAGES / "fake-phone.png"))

        # Tap the link: the approval page says what will run and where.
        link = message.locator('a[href*="/action/recover?token="]').first
        with context.expect_page() as opened:
            link.click()
        approval = opened.value
        approval.wait_for_load_state()
        expect(approval.get_by_text("restart_worker_pool").first).to_be_visible()
        expect(approval.locator("#approve")).to_be_visible()
        approval.screenshot(path=str(IMAGES / "approval-page.png"), full_page=True)
        approval.locator("#approve").click()
        expect(approval.locator("body")).to_contain_text("Approved: restart_worker_pool", timeout=15_000)

        # The demo service receives the signed call once and recovers.
        recovered = _wait(lambda: requests.get(f"{ports.demo_service_url}/fault", timeout=5).json()["recoveries"],
                          timeout=30)
        assert recovered and len(recovered) == 1
        incident = _wait(lambda: (i := _incident()) and i.stage == "RECOVERED" and i, timeout=60)
        assert incident, f"the incident did not recover (stage {_incident().stage})"

        # The timeline shows the whole chain, with the chart.
        admin = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        admin.goto(f"http://demo.localhost:{ports.web}/admin/login/?next=/admin/incidents/incident/{incident.id}/change/")
        admin.fill("#id_username", "admin")
        admin.fill("#id_password", "alertengine-demo")
        admin.locator("input[type=submit]").click()
        timeline = admin.locator("#timeline")
        for stage in ("DETECTED", "PROPOSED", "VALIDATED", "AUTHORIZED", "EXECUTED", "RECOVERED"):
            expect(timeline).to_contain_text(stage)
        expect(admin.locator("svg.incident-chart polyline").first).to_be_attached()
        admin.screenshot(path=str(IMAGES / "incident-timeline.png"), full_page=True)
        browser.close()

    out = StringIO()
    call_command("ledger_verify", schema="demo", stdout=out)
    assert "demo: OK" in out.getvalue()
