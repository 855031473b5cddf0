"""Telegram linking and buttons, and the voice key press, as the fakes deliver them to our endpoints.

The Telegram fake builds the real ``Update`` for a typed message or a tapped button; without a
registered webhook it queues it, and the test posts it to our endpoint as Telegram would.
"""

# ruff: noqa: F811 - pytest fixtures are imported from tests.notifications.support and named as arguments

from __future__ import annotations

import copy

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from incidents.alerts import approval_message, recipient_of
from incidents.approvals import approval_link
from incidents.models import ApprovalRequest, Incident
from incidents.state import Stage
from ledger.models import LedgerEntry
from notifications.inbound import telegram_webhook_secret
from notifications.services import delivery_step
from tenants.configuration.models import Contact
from tests.incidents.builders import on_plan
from tests.notifications.support import channel, contact, fakes, fakes_server, host_of, world  # noqa: F401

pytestmark = pytest.mark.django_db
CHAT = 7770001


@pytest.fixture
def web(in_tenant) -> Client:
    return Client(HTTP_HOST=host_of(in_tenant))


def _post(web: Client, update: dict, *, secret: str | None = None):
    secret = telegram_webhook_secret("acme") if secret is None else secret
    return web.post("/telegram/webhook", update, content_type="application/json",
                    HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=secret)


def test_start_with_the_one_time_code_links_the_chat_and_the_code_then_stops_working(web, fakes):
    on_plan("team")
    channel("telegram")
    person = contact("Tendai", order=1)
    code = person.telegram_link_code
    update = fakes.telegram.send_text(CHAT, f"/start {code}", first_name="Tendai")["update"]
    assert _post(web, update).status_code == 200
    person.refresh_from_db()
    assert person.telegram_chat_id == str(CHAT) and person.telegram_link_code != code
    assert "Linked" in fakes.telegram.sent_messages(CHAT)[-1]["text"]
    assert LedgerEntry.objects.filter(kind="notification.telegram_linked").count() == 1
    replay = fakes.telegram.send_text(CHAT + 1, f"/start {code}")["update"]
    assert _post(web, replay).status_code == 200
    assert not Contact.objects.filter(telegram_chat_id=str(CHAT + 1)).exists()
    assert "not valid" in fakes.telegram.sent_messages(CHAT + 1)[-1]["text"]


def test_a_webhook_call_without_the_secret_token_is_refused(web, fakes):
    on_plan("team")
    person = contact("Rudo", order=1)
    update = fakes.telegram.send_text(CHAT, f"/start {person.telegram_link_code}")["update"]
    assert _post(web, update, secret="guessed").status_code == 403
    assert _post(web, update, secret="").status_code == 403
    assert web.post("/telegram/webhook", "not json", content_type="application/json",
                    HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN=telegram_webhook_secret("acme")).status_code == 400
    person.refresh_from_db()
    assert person.telegram_chat_id == ""


def _sent_approval(fakes):
    channel("telegram")
    w = world(plan="team", chat_id=str(CHAT))
    message = approval_message(w.incident, [w.approval], [approval_link(w.approval)])
    assert delivery_step(message=message, recipient=recipient_of(w.contacts[0])).delivered
    return w


def test_the_approve_button_of_the_linked_contact_authorizes_via_telegram(web, fakes):
    w = _sent_approval(fakes)
    update = fakes.telegram.press(CHAT, f"ap:{w.approval.chat_ref}")["update"]
    assert _post(web, update).status_code == 200
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.AUTHORIZED
    entry = LedgerEntry.objects.get(incident_id=w.incident.id, stage_to="AUTHORIZED")
    assert entry.source == "telegram" and entry.reason.endswith("via telegram")
    [sent] = fakes.telegram.sent_messages(CHAT)
    assert "reply_markup" not in sent  # the buttons are gone once decided
    assert _post(web, update).status_code == 200  # Telegram delivering the same update again
    assert LedgerEntry.objects.filter(incident_id=w.incident.id, kind="approval.refused").count() == 1
    assert LedgerEntry.objects.filter(incident_id=w.incident.id, stage_to="AUTHORIZED").count() == 1


def test_a_button_pressed_from_an_unlinked_or_other_tenant_account_is_refused(web, fakes):
    w = _sent_approval(fakes)
    update = fakes.telegram.press(CHAT, f"ap:{w.approval.chat_ref}")["update"]
    stranger = copy.deepcopy(update)
    stranger["callback_query"]["from"]["id"] = CHAT + 99  # a chat linked nowhere here (or in another tenant)
    assert _post(web, stranger).status_code == 200
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.VALIDATED
    refused = LedgerEntry.objects.filter(incident_id=w.incident.id, kind="approval.refused").get()
    assert "not linked" in refused.reason
    forged = copy.deepcopy(update)
    forged["callback_query"]["data"] = "ap:AAAAAAAAAAAAAAAAAAAAAA"  # an id of no request of this tenant
    assert _post(web, forged).status_code == 200
    assert ApprovalRequest.objects.get(pk=w.approval.pk).status == "pending"


def test_the_voice_key_press_acknowledges_only_with_a_valid_twilio_signature(web, in_tenant):
    w = world(plan="compliance")
    channel("voice")
    from django.conf import settings

    url = f"http://{host_of(in_tenant)}/action/voice/{w.approval.chat_ref}"
    params = {"CallSid": "CA123", "Digits": "1", "From": "+14155238886", "To": "+263771234567"}
    assert web.post(f"/action/voice/{w.approval.chat_ref}", params,
                    HTTP_X_TWILIO_SIGNATURE="forged").status_code == 403
    assert ApprovalRequest.objects.get(pk=w.approval.pk).acknowledged_at is None
    signature = RequestValidator(settings.TWILIO_AUTH_TOKEN).compute_signature(url, params)
    answer = web.post(f"/action/voice/{w.approval.chat_ref}", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert answer.status_code == 200 and "acknowledged" in answer.content.decode()
    acknowledged = ApprovalRequest.objects.get(pk=w.approval.pk)
    assert acknowledged.acknowledged_at is not None and acknowledged.escalate_at is None
