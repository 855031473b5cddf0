"""WhatsApp through Sent.dm's HTTP API (v3 messages)."""

from __future__ import annotations

import hashlib

import requests

from notifications.messages import Message, Recipient
from notifications.providers.base import Credentials, DeliveryError, RecipientUnreachableError, http_status_error
from notifications.render import render_text

TIMEOUT_S = (3.05, 10.0)
#: The template registered on Sent's side; its single parameter carries the rendered text.
TEMPLATE_NAME = "alertengine_alert"


class SentDm:
    name = "sentdm"

    def address(self, recipient: Recipient) -> str:
        if not recipient.phone_e164:
            raise RecipientUnreachableError("the contact has no phone number")
        return recipient.phone_e164

    def send(self, *, credentials: Credentials, recipient: Recipient, message: Message) -> str:
        payload = {
            "to": [self.address(recipient)],
            "channel": ["whatsapp"],
            "template": {"name": TEMPLATE_NAME, "parameters": {"text": render_text(message)}},
        }
        if credentials.sender:
            payload["sender_id"] = credentials.sender
        # Sent.dm replays the first answer for a repeated key: a retried send cannot deliver twice.
        idempotency = hashlib.sha256(f"{message.dedupe_key}|{recipient.key}".encode()).hexdigest()
        headers = {"x-api-key": credentials.api_key, "Idempotency-Key": idempotency}
        try:
            response = requests.post(f"{credentials.base_url.rstrip('/')}/v3/messages", json=payload,
                                     headers=headers, timeout=TIMEOUT_S, allow_redirects=False)
        except requests.RequestException as exc:
            raise DeliveryError(f"{type(exc).__name__}: could not reach Sent.dm", transient=True) from None
        if response.status_code >= 300:
            raise http_status_error(response.status_code, response.text)
        try:
            return str(response.json()["data"]["recipients"][0]["message_id"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise DeliveryError("Sent.dm accepted the message but its answer has no message id",
                                transient=False) from None
