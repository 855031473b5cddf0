"""The Sent.dm fake, driven with ``requests`` as the notifications provider calls it."""

from __future__ import annotations

import requests

from devfakes.config import FakeConfig
from devfakes.server import FakesHandle

KEY = {"x-api-key": FakeConfig().sentdm_api_key}
MESSAGE = {
    "to": ["+15551230001"],
    "channel": ["whatsapp"],
    "template": {"name": "incident_alert", "parameters": {"text": "Checkout API degraded https://demo.localhost/a"}},
}


def send(fakes: FakesHandle, body: object, headers: dict[str, str] | None = None) -> requests.Response:
    return requests.post(
        f"{fakes.url}/sentdm/v3/messages", json=body, headers=KEY if headers is None else headers, timeout=5
    )


def test_a_template_message_is_accepted_per_recipient_and_channel(fakes: FakesHandle) -> None:
    answer = send(fakes, MESSAGE)

    assert answer.status_code == 202
    payload = answer.json()
    assert payload["success"] is True and payload["error"] is None and payload["meta"]["version"] == "v3"
    (recipient,) = payload["data"]["recipients"]
    assert (recipient["to"], recipient["channel"]) == ("+15551230001", "whatsapp")
    assert recipient["body"] == "Checkout API degraded https://demo.localhost/a"
    status = requests.get(f"{fakes.url}/sentdm/v3/messages/{recipient['message_id']}", headers=KEY, timeout=5)
    assert status.json()["data"]["status"] == "delivered"


def test_a_registered_template_is_rendered_with_its_parameters(fakes: FakesHandle) -> None:
    fakes.sentdm.add_template(name="incident_alert", body="{{service}} degraded. Approve: {{link}}")
    body = {**MESSAGE, "template": {"name": "incident_alert", "parameters": {"service": "Checkout", "link": "L"}}}

    assert send(fakes, body).json()["data"]["body"] == "Checkout degraded. Approve: L"


def test_a_missing_or_wrong_api_key_is_refused_with_sent_error_codes(fakes: FakesHandle) -> None:
    missing, wrong = send(fakes, MESSAGE, headers={}), send(fakes, MESSAGE, headers={"x-api-key": "nope"})

    assert (missing.status_code, missing.json()["error"]["code"]) == (401, "AUTH_001")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (401, "AUTH_002")
    assert fakes.sentdm.messages() == []
    assert all(e["headers"].get("x-api-key") in (None, "[redacted]") for e in fakes.recorded("sentdm"))


def test_an_invalid_number_is_a_validation_error(fakes: FakesHandle) -> None:
    answer = send(fakes, {**MESSAGE, "to": ["555-1234"]})

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "VALIDATION_001"
    assert "to" in answer.json()["error"]["details"]


def test_a_repeated_idempotency_key_replays_the_first_answer_without_sending_again(fakes: FakesHandle) -> None:
    headers = {**KEY, "Idempotency-Key": "incident-7-alert-whatsapp"}

    first, second = send(fakes, MESSAGE, headers), send(fakes, MESSAGE, headers)

    assert first.json()["data"] == second.json()["data"]
    assert len(fakes.sentdm.messages()) == 1
