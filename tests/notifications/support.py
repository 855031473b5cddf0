"""Fixtures and builders shared by the notification, approval, chat and execution tests.

The fakes of Twilio, Sent.dm, Telegram and Slack run in one local server per session; a local
recovery endpoint stands in for the tenant's webhook and records every request it gets.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.wrappers import Request, Response

from devfakes.server import FakesHandle, start_in_thread
from incidents.approvals import approvals_open
from incidents.models import ApprovalRequest, Incident
from incidents.services import incident_propose, service_observe
from tenants.configuration.models import ChannelSetting, Contact, RecoveryAction
from tenants.configuration.services import recovery_action_create
from tests.incidents.builders import on_plan, service, spike
from tests.serving import wsgi_served


@pytest.fixture(scope="session")
def fakes_server() -> Iterator[FakesHandle]:
    handle = start_in_thread(port=0)
    yield handle
    handle.stop()


@pytest.fixture
def fakes(fakes_server: FakesHandle, settings) -> FakesHandle:
    """The fakes, reset, with the platform's default provider accounts pointed at them."""
    fakes_server.reset()
    settings.TWILIO_API_BASE_URL = f"{fakes_server.url}/twilio"
    settings.SENT_API_BASE_URL = f"{fakes_server.url}/sentdm"
    settings.TELEGRAM_API_BASE_URL = f"{fakes_server.url}/telegram/bot"
    return fakes_server


@dataclass
class Receiver:
    """A local HTTP endpoint answering the next ``statuses`` in turn (then ``default``), recording requests."""

    url: str = ""
    received: list[dict[str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data(as_text=True)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else self.default
            self.received.append({"headers": {k.lower(): v for k, v in request.headers.items()}, "body": body,
                                  "status": status, "path": request.path})
        return Response("ok" if status < 300 else "failing", status=status)(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    target = Receiver()
    with wsgi_served(target) as port:
        target.url = f"http://127.0.0.1:{port}/recover"
        yield target


@dataclass
class World:
    """One tenant set up to the point where an approval link exists."""

    incident: Incident
    contacts: list[Contact]
    action: RecoveryAction
    secret: str
    approvals: list[ApprovalRequest]

    @property
    def approval(self) -> ApprovalRequest:
        return self.approvals[0]


def contact(name: str, *, order: int, phone: str = "", chat_id: str = "") -> Contact:
    return Contact.objects.create(name=name, escalation_order=order, phone_e164=phone, telegram_chat_id=chat_id)


def channel(kind: str, *, order: int = 1, **fields: Any) -> ChannelSetting:
    return ChannelSetting.objects.create(kind=kind, enabled=True, fallback_order=order, **fields)


def validated_incident(*, diagnosis: dict[str, Any] | None = None) -> Incident:
    """A service's spike taken through detection to VALIDATED (optionally with an AI-style diagnosis)."""
    svc = service("Checkout API")
    for _ in range(2):
        service_observe(service=svc, observation=spike())
    incident = incident_propose(incident_id=Incident.objects.get(service=svc).id)
    if diagnosis is not None:
        Incident.objects.filter(pk=incident.pk).update(diagnosis=diagnosis)
        incident.refresh_from_db()
    return incident


CLAUDE_DIAGNOSIS = {
    "source": "claude", "agreement": "agree", "category": "database", "confidence": 0.87,
    "likely_cause": "Database connection pool exhausted: connections not released after query timeout.",
    "evidence": ["P95 2.8s"], "checks": ["pg_stat_activity"], "suggested_action": "restart_worker_pool",
    "gated": False, "theories": [], "note": "",
}


def world(*, plan: str = "compliance", webhook_url: str = "http://127.0.0.1:9/recover", contacts: int = 2,
          diagnosis: dict[str, Any] | None = CLAUDE_DIAGNOSIS, phone: str = "+263771234567",
          chat_id: str = "") -> World:
    """Plan, contacts, a recovery action, and a VALIDATED incident with its approval request(s) open."""
    on_plan(plan)
    people = [contact(f"Engineer {i + 1} {uuid.uuid4().hex[:4]}", order=i + 1, phone=phone,
                      chat_id=chat_id if i == 0 else "") for i in range(contacts)]
    action, secret = recovery_action_create(
        action=RecoveryAction(name="restart_worker_pool", description="Restart checkout worker pool",
                              webhook_url=webhook_url), actor_id="tests")
    incident = validated_incident(diagnosis=diagnosis)
    opened = approvals_open(incident_id=incident.id)
    return World(incident=incident, contacts=people, action=action, secret=secret, approvals=opened)


def host_of(tenant) -> str:
    return tenant.get_primary_domain().domain


def webhook_body(received: dict[str, Any]) -> dict[str, Any]:
    return json.loads(received["body"])
