"""The fake phone page: what it shows, how safely, and its header configuration."""

from __future__ import annotations

import requests
from twilio.rest import Client

from devfakes.config import FakeConfig, PhoneLink
from devfakes.server import FakesHandle, start_in_thread

from .conftest import WebhookReceiver

CONFIG = FakeConfig()
HOSTILE = "<script>alert('owned')</script> Review: https://demo.localhost/action/recover?token=a_b_c"
BOT = f"/telegram/bot{CONFIG.telegram_bot_token}"


def whatsapp(fakes: FakesHandle, body: str, to: str = "whatsapp:+15551230001") -> None:
    client = Client(CONFIG.twilio_account_sid, CONFIG.twilio_auth_token)
    client.api.base_url = f"{fakes.url}/twilio"
    client.messages.create(to=to, from_="whatsapp:+14155238886", body=body)


def telegram(fakes: FakesHandle, method: str, **params: object) -> dict:
    answer = requests.post(f"{fakes.url}{BOT}/{method}", json=params, timeout=5)
    assert answer.json()["ok"], answer.text
    return answer.json()["result"]


def page(fakes: FakesHandle) -> str:
    answer = requests.get(f"{fakes.url}/phone", timeout=5)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/html")
    return answer.text


def test_a_whatsapp_message_shows_its_link_clickable_and_its_markup_as_text(fakes: FakesHandle) -> None:
    whatsapp(fakes, HOSTILE)

    shown = page(fakes)

    assert '<a href="https://demo.localhost/action/recover?token=a_b_c" target="_blank"' in shown
    assert "&lt;script&gt;alert(&#x27;owned&#x27;)&lt;/script&gt;" in shown
    assert "<script>alert" not in shown
    assert "WhatsApp: +15551230001" in shown


def test_telegram_formatting_is_rendered_but_only_http_links_become_links(fakes: FakesHandle) -> None:
    telegram(
        fakes,
        "sendMessage",
        chat_id=1001,
        parse_mode="HTML",
        text='<b>Checkout API degraded</b> <a href="javascript:alert(1)">details</a> &lt;b&gt;',
        reply_markup={"inline_keyboard": [[{"text": "<img src=x onerror=alert(1)>", "callback_data": "apv:1"}]]},
    )

    shown = page(fakes)

    assert "<b>Checkout API degraded</b>" in shown
    assert "details" in shown and "javascript:" not in shown
    assert "&lt;b&gt;" in shown
    assert 'data-callback="apv:1">&lt;img src=x onerror=alert(1)&gt;</button>' in shown


def test_chats_are_grouped_per_recipient_with_the_newest_activity_last(fakes: FakesHandle) -> None:
    whatsapp(fakes, "first to Ann", to="whatsapp:+15550000001")
    whatsapp(fakes, "first to Bob", to="whatsapp:+15550000002")
    whatsapp(fakes, "second to Ann", to="whatsapp:+15550000001")
    fakes.sentdm.add_template(name="alert", body="{{text}}")
    requests.post(
        f"{fakes.url}/sentdm/v3/messages",
        json={"to": ["+15550000001"], "template": {"name": "alert", "parameters": {"text": "via Sent.dm"}}},
        headers={"x-api-key": CONFIG.sentdm_api_key},
        timeout=5,
    )

    shown = page(fakes)

    assert shown.index("WhatsApp: +15550000002") < shown.index("WhatsApp: +15550000001")
    assert shown.index("first to Ann") < shown.index("second to Ann") < shown.index("via Sent.dm")
    assert shown.count("WhatsApp: +15550000001") == 1


def test_a_tap_on_a_rendered_button_is_posted_as_the_page_does(
    fakes: FakesHandle, webhook_receiver: WebhookReceiver
) -> None:
    telegram(fakes, "setWebhook", url=webhook_receiver.url, secret_token="s3cret")
    sent = telegram(
        fakes,
        "sendMessage",
        chat_id=1001,
        text="Approve?",
        reply_markup={"inline_keyboard": [[{"text": "Approve", "callback_data": "apv:9"}]]},
    )

    # The page posts the button's data attributes, which are strings.
    answer = requests.post(
        f"{fakes.url}/_control/telegram/press",
        json={"chat_id": "1001", "message_id": str(sent["message_id"]), "callback_data": "apv:9"},
        timeout=5,
    )

    assert answer.status_code == 200 and answer.json()["delivered"] is True
    assert webhook_receiver.received[0]["body"]["callback_query"]["data"] == "apv:9"
    assert "You tapped \u201cApprove\u201d" in page(fakes)


def test_the_fragment_is_only_sent_again_when_something_changed(fakes: FakesHandle) -> None:
    first = requests.get(f"{fakes.url}/_phone/fragment", timeout=5)
    unchanged = requests.get(f"{fakes.url}/_phone/fragment?since={first.headers['X-Phone-Version']}", timeout=5)
    whatsapp(fakes, "news")
    changed = requests.get(f"{fakes.url}/_phone/fragment?since={first.headers['X-Phone-Version']}", timeout=5)

    assert unchanged.status_code == 204
    assert changed.status_code == 200 and "news" in changed.text


def test_reset_empties_the_phone_and_the_records(fakes: FakesHandle) -> None:
    whatsapp(fakes, "old news")

    assert requests.delete(f"{fakes.url}/_recorded", timeout=5).json() == {"reset": True}

    assert "old news" not in page(fakes)
    assert requests.get(f"{fakes.url}/_recorded/twilio", timeout=5).json() == []


def test_header_links_and_actions_come_from_the_server_configuration(webhook_receiver: WebhookReceiver) -> None:
    links = (
        PhoneLink("Admin", "http://localhost:8000/admin/"),
        PhoneLink.parse(f"Start a spike=POST:{webhook_receiver.url}"),
    )
    handle = start_in_thread(config=FakeConfig(phone_links=links))
    try:
        shown = requests.get(f"{handle.url}/phone", timeout=5).text
        action = requests.post(f"{handle.url}/_phone/actions/1", timeout=5)
    finally:
        handle.stop()

    assert '<a class="header-link" href="http://localhost:8000/admin/"' in shown
    assert '<button type="button" class="header-action" data-index="1">Start a spike</button>' in shown
    assert action.json()["status"] == 200
    assert len(webhook_receiver.received) == 1
