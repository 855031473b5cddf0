"""Deliveries through the real provider clients to the local fakes: text, links, buttons, once, fallback."""

# ruff: noqa: F811 - pytest fixtures are imported from tests.notifications.support and named as arguments

from __future__ import annotations

import pytest
import redis
from django.conf import settings

from incidents.alerts import approval_message, incident_message, recipient_of
from incidents.approvals import approval_link
from ledger.models import LedgerEntry
from notifications.messages import Button, Link, Message, Recipient, Section
from notifications.models import Delivery
from notifications.services import delivery_step
from tests.incidents.builders import on_plan
from tests.notifications.support import channel, fakes, fakes_server, world  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db
CHAT = 5550001


@pytest.fixture(autouse=True)
def closed_breakers(in_tenant):
    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(f"breaker:{in_tenant.schema_name}:*"):
        client.delete(key)


def _approval(w) -> tuple[Message, Recipient, str]:
    link = approval_link(w.approval)
    return approval_message(w.incident, [w.approval], [link]), recipient_of(w.contacts[0]), link


def test_a_whatsapp_approval_reaches_twilio_with_the_layout_and_the_link(fakes):
    channel("whatsapp_twilio")
    w = world()
    message, recipient, link = _approval(w)
    assert delivery_step(message=message, recipient=recipient).delivered
    [sent] = fakes.twilio.messages()
    assert sent["to"] == "whatsapp:+263771234567"
    body = sent["body"]
    assert body.startswith(f"{w.incident.title}\n\nHealth score 23/100 | P95 2.8s | Errors 19%\n\nBoth models agree.")
    assert "Likely cause:\nDatabase connection pool exhausted" in body
    assert "Suggested fix:\nRestart checkout worker pool" in body and "Confidence:\n87%" in body
    assert f"Approve fix: {link}" in body and body.endswith("Nothing will run without your approval.")
    [delivery] = Delivery.objects.filter(dedupe_key=message.dedupe_key)
    assert (delivery.status, delivery.provider, delivery.provider_message_id[:2]) == ("sent", "twilio_whatsapp", "SM")
    entry = LedgerEntry.objects.filter(kind="notification.delivered").latest("sequence")
    assert entry.incident_id == w.incident.id and entry.body["channel"] == "whatsapp_twilio"
    assert "+263771234567" not in entry.body_json  # the number is masked in the record


def test_a_telegram_approval_has_escaped_html_the_link_and_opaque_buttons(fakes):
    channel("telegram")
    w = world(chat_id=str(CHAT))
    message, recipient, link = _approval(w)
    assert delivery_step(message=message, recipient=recipient).delivered
    [sent] = fakes.telegram.sent_messages(CHAT)
    assert sent["text"].startswith(w.incident.title) and "Nothing will run without your approval." in sent["text"]
    assert link in [e.get("url") for e in sent.get("entities", [])]
    buttons = [b for row in sent["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Approve", "Do not run"]
    assert buttons[0]["callback_data"] == f"ap:{w.approval.chat_ref}"
    token = link.split("token=", 1)[1]
    assert all(token not in b["callback_data"] and len(b["callback_data"].encode()) <= 64 for b in buttons)


def test_telegram_text_is_escaped_so_hostile_titles_and_underscored_links_survive(fakes, in_tenant):
    on_plan("team")
    channel("telegram")
    url = "https://acme.localhost/action/recover?token=a_b_c.d_e"
    message = Message(dedupe_key="x:escape", title="<script>alert(1)</script> & co", summary="P95 <2s>",
                      sections=(Section("Likely cause", "a < b && c > d"),), links=(Link("Approve fix", url),),
                      buttons=(Button("Approve", "ap:abcdefgh12"),), footer="Nothing will run without your approval.")
    assert delivery_step(message=message, recipient=Recipient(key="contact:1", telegram_chat_id=str(CHAT))).delivered
    [sent] = fakes.telegram.sent_messages(CHAT)
    assert sent["text"].startswith("<script>alert(1)</script> & co") and "a < b && c > d" in sent["text"]
    assert url in [e.get("url") for e in sent["entities"]]


def test_a_task_that_runs_twice_delivers_once(fakes):
    channel("whatsapp_twilio")
    w = world()
    message, recipient, _ = _approval(w)
    assert delivery_step(message=message, recipient=recipient).delivered
    assert delivery_step(message=message, recipient=recipient).done
    assert len(fakes.twilio.messages()) == 1
    assert Delivery.objects.filter(dedupe_key=message.dedupe_key, status="sent").count() == 1


def test_a_refused_provider_falls_back_to_the_next_channel(fakes):
    channel("whatsapp_twilio", order=1, use_platform_default=False, twilio_account_sid="AC" + "0" * 32,
            twilio_auth_token="wrong-token", twilio_from="+14155238886")
    channel("whatsapp_sentdm", order=2)
    w = world()
    message, recipient, link = _approval(w)
    first = delivery_step(message=message, recipient=recipient)
    assert not first.done and first.channel_index == 1 and first.delay_s == 0  # 401: no retry, next channel
    assert delivery_step(message=message, recipient=recipient, channel_index=1).delivered
    assert fakes.twilio.messages() == []
    [sent] = fakes.sentdm.messages()
    assert link in str(sent)
    outcomes = [(d.channel, d.status) for d in Delivery.objects.filter(dedupe_key=message.dedupe_key)
                .order_by("pk")]
    assert outcomes == [("whatsapp_twilio", "failed"), ("whatsapp_sentdm", "sent")]
    kinds = list(LedgerEntry.objects.filter(incident_id=w.incident.id, kind__startswith="notification.")
                 .values_list("kind", flat=True).order_by("sequence"))
    assert kinds == ["notification.failed", "notification.delivered"]


def test_transient_errors_back_off_and_the_circuit_opens_for_a_failing_provider(fakes, settings):
    settings.SENT_API_BASE_URL = "http://127.0.0.1:9/sentdm"  # nothing listens there
    channel("whatsapp_sentdm")
    w = world()
    message, recipient, _ = _approval(w)
    first = delivery_step(message=message, recipient=recipient)
    assert (first.done, first.channel_index, first.attempt, first.delay_s) == (False, 0, 2, 2.0)
    second = delivery_step(message=message, recipient=recipient, attempt=2)
    assert (second.attempt, second.delay_s) == (3, 6.0)
    assert delivery_step(message=message, recipient=recipient, attempt=3).channel_index == 1  # attempts used up
    for attempt in (1, 2):
        delivery_step(message=message, recipient=recipient, attempt=attempt)
    skipped = delivery_step(message=message, recipient=recipient)
    assert skipped.channel_index == 1 and skipped.delay_s == 0
    assert Delivery.objects.filter(dedupe_key=message.dedupe_key).latest("pk").error.startswith("circuit open")
    assert delivery_step(message=message, recipient=recipient, channel_index=1).done
    assert LedgerEntry.objects.filter(incident_id=w.incident.id, kind="notification.undelivered").count() == 1


def test_slack_gets_the_team_alert_as_block_kit_but_never_a_personal_link(fakes):
    hook = f"{fakes.url}/slack/services/T0001/B0002/s3cr3t"
    channel("slack", slack_webhook_url=hook)
    w = world()
    team = Recipient(key="team:slack")
    alert = incident_message(w.incident, kind="alert")
    assert delivery_step(message=alert, recipient=team, kinds=("slack",)).delivered
    [post] = [p["payload"] for p in fakes.slack.posts()]
    assert post["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": w.incident.title,
                                                            "emoji": False}}
    assert any("Database connection pool exhausted" in b.get("text", {}).get("text", "") for b in post["blocks"])
    personal, _, _ = _approval(w)
    assert delivery_step(message=personal, recipient=team, kinds=("slack",)).done
    assert len(fakes.slack.posts()) == 1


def test_a_voice_escalation_call_reads_the_incident_and_waits_for_a_key_press(fakes):
    from incidents.alerts import voice_message

    channel("voice")
    w = world(plan="compliance")
    callback = f"http://acme.localhost/action/voice/{w.approval.chat_ref}"
    message = voice_message(w.approval, callback_url=callback)
    assert delivery_step(message=message, recipient=recipient_of(w.contacts[0]), kinds=("voice",)).delivered
    [call] = fakes.twilio.calls()
    assert call["to"] == "+263771234567"
    assert f'action="{callback}"' in call["twiml"] and "Press 1 to acknowledge." in call["twiml"]
    assert w.incident.title in call["twiml"]
