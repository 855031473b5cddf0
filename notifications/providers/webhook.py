"""A generic webhook: the message as JSON, signed in the Standard Webhooks style with the channel's secret."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import requests
from standardwebhooks import Webhook

from notifications.messages import Message, Recipient
from notifications.providers.base import Credentials, DeliveryError, http_status_error
from notifications.render import render_text
from saas.outbound import outbound_session, read_capped


def signer(secret: str) -> Webhook:
    """A Standard Webhooks signer: ``whsec_<base64>`` secrets as specified, any other text as raw bytes."""
    return Webhook(secret if secret.startswith("whsec_") else secret.encode())


class GenericWebhook:
    name = "webhook"

    def address(self, recipient: Recipient) -> str:
        return "webhook"

    def send(self, *, credentials: Credentials, recipient: Recipient, message: Message) -> str:
        msg_id = f"msg_{uuid.uuid5(uuid.NAMESPACE_URL, message.dedupe_key + '|' + recipient.key).hex}"
        now = datetime.now(tz=UTC)
        body = json.dumps({"type": "alert", "id": msg_id, "title": message.title, "text": render_text(message),
                           "message": {k: v for k, v in message.as_dict().items() if k != "voice_callback_url"}},
                          separators=(",", ":"))
        headers = {"content-type": "application/json", "webhook-id": msg_id,
                   "webhook-timestamp": str(int(now.timestamp()))}
        if credentials.secret:
            headers["webhook-signature"] = signer(credentials.secret).sign(msg_id, now, body)
        try:
            response = outbound_session().post(credentials.url, data=body.encode(), headers=headers, stream=True)
            text = read_capped(response, 10_000).decode(errors="replace")
        except requests.RequestException as exc:
            raise DeliveryError(f"{type(exc).__name__}: could not reach the webhook", transient=True) from None
        if not 200 <= response.status_code < 300:
            raise http_status_error(response.status_code, text)
        return msg_id
