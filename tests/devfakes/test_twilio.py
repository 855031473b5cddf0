"""The Twilio fake, driven through the official ``twilio`` client."""

from __future__ import annotations

import json

import pytest
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from devfakes.config import FakeConfig
from devfakes.server import FakesHandle

from .conftest import WebhookReceiver

CONFIG = FakeConfig()
WHATSAPP_FROM, WHATSAPP_TO = "whatsapp:+14155238886", "whatsapp:+15551230001"


def twilio_client(fakes: FakesHandle, auth_token: str = CONFIG.twilio_auth_token) -> Client:
    client = Client(CONFIG.twilio_account_sid, auth_token)
    # The supported switch: every resource URL is built from the domain's base_url.
    client.api.base_url = f"{fakes.url}/twilio"
    return client


def test_a_whatsapp_message_is_created_and_later_reads_as_delivered(fakes: FakesHandle) -> None:
    client = twilio_client(fakes)

    message = client.messages.create(to=WHATSAPP_TO, from_=WHATSAPP_FROM, body="Checkout API degraded")

    assert message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued"
    assert (message.to, message.from_, message.body) == (WHATSAPP_TO, WHATSAPP_FROM, "Checkout API degraded")
    assert message.account_sid == CONFIG.twilio_account_sid
    assert client.messages(message.sid).fetch().status == "delivered"
    (entry,) = [e for e in fakes.recorded("twilio") if e["method"] == "POST"]
    assert entry["path"] == f"/twilio/2010-04-01/Accounts/{CONFIG.twilio_account_sid}/Messages.json"
    assert entry["body"] == {"To": WHATSAPP_TO, "From": WHATSAPP_FROM, "Body": "Checkout API degraded"}
    assert entry["headers"]["authorization"] == "[redacted]"
    assert CONFIG.twilio_auth_token not in json.dumps(fakes.recorded())


def test_a_wrong_auth_token_is_refused_with_twilio_error_20003(fakes: FakesHandle) -> None:
    with pytest.raises(TwilioRestException) as refused:
        twilio_client(fakes, auth_token="wrong").messages.create(to=WHATSAPP_TO, from_=WHATSAPP_FROM, body="x")

    assert (refused.value.status, refused.value.code) == (401, 20003)
    assert fakes.twilio.messages() == []


def test_a_message_without_body_or_with_mixed_channels_is_refused(fakes: FakesHandle) -> None:
    client = twilio_client(fakes)

    with pytest.raises(TwilioRestException) as no_body:
        client.messages.create(to=WHATSAPP_TO, from_=WHATSAPP_FROM)
    with pytest.raises(TwilioRestException) as mixed:
        client.messages.create(to="+15551230001", from_=WHATSAPP_FROM, body="x")

    assert (no_body.value.status, no_body.value.code) == (400, 21602)
    assert mixed.value.code == 21910


def test_a_voice_call_with_inline_twiml_is_queued_and_shown_on_the_phone(fakes: FakesHandle) -> None:
    twiml = (
        '<Response><Gather numDigits="1" action="https://ctl.example/voice/ack">'
        "<Say>Checkout API degraded. Press 1 to acknowledge.</Say></Gather></Response>"
    )

    call = twilio_client(fakes).calls.create(to="+15551230001", from_="+14155550100", twiml=twiml)

    assert call.sid.startswith("CA") and call.status == "queued"
    assert fakes.twilio.calls()[0]["twiml"] == twiml
    (bubble,) = fakes.services.runtime.phone.items()
    assert "Checkout API degraded. Press 1 to acknowledge." in bubble.text
    assert "waits for a key press" in bubble.text


def test_a_call_without_instructions_is_refused(fakes: FakesHandle) -> None:
    with pytest.raises(TwilioRestException) as refused:
        twilio_client(fakes).calls.create(to="+15551230001", from_="+14155550100")

    assert refused.value.code == 21205


def test_a_key_press_calls_the_gather_action_with_a_valid_twilio_signature(
    fakes: FakesHandle, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.reply = "<Response><Say>Acknowledged. Goodbye.</Say></Response>"
    twiml = f'<Response><Gather numDigits="1" action="{webhook_receiver.url}"><Say>Press 1.</Say></Gather></Response>'
    call = twilio_client(fakes).calls.create(to="+15551230001", from_="+14155550100", twiml=twiml)

    outcome = fakes.twilio.press_key(call.sid, "1")

    assert outcome["delivered"] and outcome["status"] == 200
    (callback,) = webhook_receiver.received
    assert callback["form"]["Digits"] == "1" and callback["form"]["CallSid"] == call.sid
    validator = RequestValidator(CONFIG.twilio_auth_token)
    assert validator.validate(callback["url"], callback["form"], callback["headers"]["X-Twilio-Signature"])
    assert "Acknowledged. Goodbye." in [item.text for item in fakes.services.runtime.phone.items()]


def test_a_key_press_on_a_call_without_gather_is_refused(fakes: FakesHandle) -> None:
    call = twilio_client(fakes).calls.create(
        to="+15551230001", from_="+1415555", twiml="<Response><Say>Hi</Say></Response>"
    )

    with pytest.raises(LookupError):
        fakes.twilio.press_key(call.sid, "1")
