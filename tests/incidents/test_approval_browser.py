"""End to end with a real worker and a real browser: spike → Telegram alert → the link in headless
Chromium → Approve → exactly one correctly signed call of the tenant's recovery endpoint."""

# ruff: noqa: F811 - pytest fixtures are imported from tests.notifications.support and named as arguments

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, connections
from django_tenants.utils import schema_context
from standardwebhooks import Webhook
from werkzeug.serving import WSGIRequestHandler, make_server

from incidents.models import Incident
from incidents.services import service_observe
from incidents.state import Stage
from ledger.models import LedgerEntry
from saas.wsgi import application
from tenants.configuration.models import RecoveryAction
from tenants.configuration.services import recovery_action_create
from tests.incidents.builders import on_plan, service, spike
from tests.notifications.support import channel, contact, fakes, fakes_server, receiver  # noqa: F401

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHAT = 8880001


class _QuietHandler(WSGIRequestHandler):
    """No access log: request lines carry approval tokens."""

    def log_request(self, code="-", size="-") -> None:
        return None


@pytest.fixture
def live_server_url(committed_db, settings):
    """The control plane served over HTTP in this process; approval links point at it."""
    def app(environ, start_response):
        try:
            return list(application(environ, start_response))
        finally:
            connections.close_all()  # each request runs in a thread of its own; leave no connection behind

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    settings.ALERTENGINE_BASE_URL = f"http://localhost:{server.port}"
    yield settings.ALERTENGINE_BASE_URL
    server.shutdown()
    server.server_close()


def _wait(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return None


def test_an_engineer_approves_from_the_telegram_link_in_a_browser_and_the_webhook_runs_once(
        make_tenant, fakes, receiver, live_server_url, celery_worker):
    from playwright import sync_api as playwright_api
    connection.set_schema_to_public()  # tenants are created from the public schema
    tenant = make_tenant("Browser Co")
    with schema_context(tenant.schema_name):
        connection.set_tenant(tenant)
        on_plan("compliance")
        channel("telegram")
        contact("Chipo", order=1, chat_id=str(CHAT))
        _, secret = recovery_action_create(
            action=RecoveryAction(name="restart_worker_pool", description="Restart checkout worker pool",
                                  webhook_url=receiver.url), actor_id="tests")
        svc = service("Checkout API")
        for _ in range(2):
            service_observe(service=svc, observation=spike())
        connection.set_schema_to_public()

    def link() -> str | None:
        for message in fakes.telegram.sent_messages(CHAT):
            for entity in message.get("entities", []):
                if "/action/recover?token=" in (entity.get("url") or ""):
                    return entity["url"]
        return None

    url = _wait(link, timeout=30)
    assert url, "no approval link reached Telegram"
    [message] = [m for m in fakes.telegram.sent_messages(CHAT) if "Approve fix" in m["text"]]
    assert message["text"].startswith("Checkout API") and "Nothing will run without your approval." in message["text"]
    assert url.startswith(live_server_url.replace("localhost", f"{tenant.schema_name}.localhost"))

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(url)
        assert "Checkout API" in page.inner_text("h1")
        assert "restart_worker_pool" in page.inner_text("body") and "127.0.0.1" in page.inner_text("body")
        page.click("#approve")
        page.wait_for_selector("text=Approved: restart_worker_pool")
        browser.close()

    assert _wait(lambda: receiver.received, timeout=20), "the recovery endpoint was never called"
    time.sleep(1.0)
    assert len(receiver.received) == 1
    request = receiver.received[0]
    payload = Webhook(secret).verify(request["body"], request["headers"])
    assert payload["approval"]["approved_by"]["name"] == "Chipo" and payload["approval"]["via"] == "web"
    with schema_context(tenant.schema_name):
        incident = _wait(lambda: Incident.objects.filter(service=svc, stage=Stage.EXECUTED).first(), timeout=10)
        assert incident is not None
        stages = list(LedgerEntry.objects.filter(incident_id=incident.id).exclude(stage_to="")
                      .order_by("sequence").values_list("stage_to", "actor_type"))
        assert stages[-2:] == [("AUTHORIZED", "engineer"), ("EXECUTED", "orchestrator")]
