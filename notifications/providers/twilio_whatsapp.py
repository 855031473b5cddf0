"""WhatsApp through Twilio's Messages API, with the official ``twilio`` client."""

from __future__ import annotations

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from notifications.messages import Message, Recipient
from notifications.providers.base import Credentials, DeliveryError, RecipientUnreachableError, http_status_error
from notifications.render import render_text

TIMEOUT_S = 10.0
MAX_BODY = 1600


def twilio_client(credentials: Credentials) -> Client:
    """A Twilio client with a timeout, pointed at ``credentials.base_url`` when set (the local fake)."""
    client = Client(credentials.account_sid, credentials.auth_token, http_client=TwilioHttpClient(timeout=TIMEOUT_S))
    if credentials.base_url:
        client.api.base_url = credentials.base_url.rstrip("/")
    return client


def twilio_error(exc: Exception) -> DeliveryError:
    if isinstance(exc, TwilioRestException):
        return http_status_error(exc.status, f"Twilio error {exc.code}: {exc.msg}")
    return DeliveryError(f"{type(exc).__name__}: could not reach Twilio", transient=True)


class TwilioWhatsApp:
    name = "twilio_whatsapp"

    def address(self, recipient: Recipient) -> str:
        if not recipient.phone_e164:
            raise RecipientUnreachableError("the contact has no phone number")
        return f"whatsapp:{recipient.phone_e164}"

    def send(self, *, credentials: Credentials, recipient: Recipient, message: Message) -> str:
        body = render_text(message)
        if len(body) > MAX_BODY:
            body = body[: MAX_BODY - 1] + "\u2026"
        try:
            sent = twilio_client(credentials).messages.create(
                to=self.address(recipient), from_=f"whatsapp:{credentials.sender}", body=body
            )
        except (TwilioRestException, requests.RequestException) as exc:
            raise twilio_error(exc) from None
        return sent.sid
