"""Channel providers, by channel kind (``tenants.configuration.models.ChannelKind``)."""

from __future__ import annotations

from notifications.providers.base import Provider
from notifications.providers.sentdm import SentDm
from notifications.providers.slack import SlackWebhook
from notifications.providers.telegram import TelegramBot
from notifications.providers.twilio_whatsapp import TwilioWhatsApp
from notifications.providers.voice import TwilioVoice
from notifications.providers.webhook import GenericWebhook

PROVIDERS: dict[str, Provider] = {
    "whatsapp_twilio": TwilioWhatsApp(),
    "whatsapp_sentdm": SentDm(),
    "telegram": TelegramBot(),
    "slack": SlackWebhook(),
    "webhook": GenericWebhook(),
    "voice": TwilioVoice(),
}

#: Channels that reach one person; fallback runs through these in the tenant's order.
PERSONAL_KINDS = ("whatsapp_twilio", "whatsapp_sentdm", "telegram")
#: Channels that reach the whole team (no personal links are ever sent there).
TEAM_KINDS = ("slack", "webhook")
