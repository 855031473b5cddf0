"""Voice calls through Twilio's Calls API: the call reads the incident and takes one key press."""

from __future__ import annotations

import requests
from twilio.base.exceptions import TwilioRestException

from notifications.messages import Message, Recipient
from notifications.providers.base import Credentials, RecipientUnreachableError
from notifications.providers.twilio_whatsapp import twilio_client, twilio_error
from notifications.render import render_twiml


class TwilioVoice:
    name = "twilio_voice"

    def address(self, recipient: Recipient) -> str:
        if not recipient.phone_e164:
            raise RecipientUnreachableError("the contact has no phone number")
        return recipient.phone_e164

    def send(self, *, credentials: Credentials, recipient: Recipient, message: Message) -> str:
        twiml = render_twiml(message, action_url=message.voice_callback_url)
        try:
            call = twilio_client(credentials).calls.create(to=self.address(recipient), from_=credentials.sender,
                                                           twiml=twiml)
        except (TwilioRestException, requests.RequestException) as exc:
            raise twilio_error(exc) from None
        return call.sid
