"""Channel-specific rendering of a :class:`~notifications.messages.Message` (pure functions).

* WhatsApp and SMS: plain text. No WhatsApp formatting marks, so links containing ``_`` or ``*``
  (approval tokens do) are never mangled.
* Telegram: ``parse_mode=HTML``; every piece of text is escaped, links are ``<a href>`` with the
  attribute escaped.
* Slack: Block Kit, with ``mrkdwn`` text escaped as Slack requires (``&``, ``<``, ``>``).
* Voice: a sentence to be read aloud, inside TwiML built with the Twilio library.
"""

from __future__ import annotations

import html
from dataclasses import replace
from typing import Any

from twilio.twiml.voice_response import VoiceResponse

from notifications.messages import Message

TELEGRAM_MAX_CHARS = 4096
SLACK_SECTION_MAX_CHARS = 3000


def render_text(message: Message) -> str:
    """Plain text for WhatsApp/SMS/webhooks, in the product's layout."""
    parts = [message.title]
    if message.summary:
        parts.append(message.summary)
    if message.note:
        parts.append(message.note)
    parts.extend(f"{section.heading}:\n{section.body}" for section in message.sections)
    parts.extend(f"{link.label}: {link.url}" for link in message.links)
    if message.footer:
        parts.append(message.footer)
    return "\n\n".join(parts)


def _h(text: str) -> str:
    return html.escape(text, quote=False)


def render_telegram_html(message: Message) -> str:
    """Telegram HTML (``parse_mode=HTML``), escaped; fits Telegram's 4096-character limit."""
    parts = [f"<b>{_h(message.title)}</b>"]
    if message.summary:
        parts.append(_h(message.summary))
    if message.note:
        parts.append(f"<i>{_h(message.note)}</i>")
    parts.extend(f"<b>{_h(section.heading)}:</b>\n{_h(section.body)}" for section in message.sections)
    parts.extend(f'<a href="{html.escape(link.url, quote=True)}">{_h(link.label)}</a>' for link in message.links)
    if message.footer:
        parts.append(_h(message.footer))
    text = "\n\n".join(parts)
    if len(text) > TELEGRAM_MAX_CHARS:
        # Drop section bodies from the end until it fits; the title, links and footer stay.
        sections = list(message.sections)
        while sections and len(text) > TELEGRAM_MAX_CHARS:
            sections.pop()
            text = render_telegram_html(replace(message, sections=tuple(sections)))
    return text


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_slack(message: Message) -> dict[str, Any]:
    """A Slack incoming-webhook payload: ``text`` (notifications, fallback) and Block Kit ``blocks``."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": message.title[:150], "emoji": False}}
    ]
    lead = "\n".join(_slack_escape(t) for t in (message.summary, message.note) if t)
    if lead:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": lead}})
    for section in message.sections:
        text = f"*{_slack_escape(section.heading)}*\n{_slack_escape(section.body)}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text[:SLACK_SECTION_MAX_CHARS]}})
    if message.links:
        blocks.append({
            "type": "actions",
            "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": link.label[:75]}, "url": link.url}
                for link in message.links[:5]
            ],
        })
    if message.footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _slack_escape(message.footer)}]})
    return {"text": f"{message.title}: {message.summary}" if message.summary else message.title, "blocks": blocks}


def render_speech(message: Message) -> str:
    """What a voice call reads aloud."""
    if message.speech:
        return message.speech
    return ". ".join(t for t in (message.title, message.summary) if t) + "."


def render_twiml(message: Message, *, action_url: str) -> str:
    """TwiML that reads the message and, with an ``action_url``, waits for one key press reported there."""
    response = VoiceResponse()
    if not action_url:
        response.say(render_speech(message))
        return str(response)
    gather = response.gather(num_digits=1, action=action_url, method="POST", timeout=10)
    gather.say(render_speech(message) + " Press 1 to acknowledge.")
    response.say("No key was pressed. Goodbye.")
    return str(response)
