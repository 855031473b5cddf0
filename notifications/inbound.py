"""Parsing and verifying what providers send us: Telegram updates and Twilio callbacks.

These helpers decide nothing about incidents; the views that act on a button press live in the
incident pipeline (``incidents/chat.py``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from dataclasses import dataclass

from django.conf import settings
from twilio.request_validator import RequestValidator

_START = re.compile(r"^/start(?:@\w+)?(?:\s+([A-Za-z0-9_-]{1,64}))?\s*$")
_CALLBACK = re.compile(r"^(ap|rj):([A-Za-z0-9_-]{8,40})$")


class UpdateInvalidError(ValueError):
    """The body is not a Telegram update we can read."""


@dataclass(frozen=True)
class TelegramUpdate:
    """The parts of an update we act on. ``kind`` is ``start``, ``button`` or ``other``."""

    kind: str
    chat_id: str = ""
    from_id: str = ""
    code: str = ""
    callback_query_id: str = ""
    decision: str = ""
    ref: str = ""
    message_id: int | None = None


def telegram_webhook_secret(schema_name: str) -> str:
    """The ``secret_token`` registered with Telegram for this tenant's webhook ([A-Za-z0-9_-], derived)."""
    key = (settings.TELEGRAM_WEBHOOK_SECRET or settings.ALERT_SECRET).encode()
    digest = hmac.new(key, f"telegram-webhook:{schema_name}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def telegram_secret_valid(presented: str | None, *, schema_name: str) -> bool:
    """Constant-time comparison of ``X-Telegram-Bot-Api-Secret-Token``."""
    return hmac.compare_digest((presented or "").encode(), telegram_webhook_secret(schema_name).encode())


def telegram_update_parse(body: bytes) -> TelegramUpdate:
    """Read a ``/start <code>`` message or an inline-button press; anything else is ``other``."""
    try:
        update = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise UpdateInvalidError("the body is not JSON") from None
    if not isinstance(update, dict):
        raise UpdateInvalidError("the update is not an object")
    query = update.get("callback_query")
    if isinstance(query, dict):
        sender = query.get("from") if isinstance(query.get("from"), dict) else {}
        message = query.get("message") if isinstance(query.get("message"), dict) else {}
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        match = _CALLBACK.match(str(query.get("data") or ""))
        return TelegramUpdate(
            kind="button" if match else "other", from_id=str(sender.get("id") or ""),
            chat_id=str(chat.get("id") or sender.get("id") or ""), callback_query_id=str(query.get("id") or ""),
            decision={"ap": "approve", "rj": "reject"}[match.group(1)] if match else "",
            ref=match.group(2) if match else "",
            message_id=message.get("message_id") if isinstance(message.get("message_id"), int) else None,
        )
    message = update.get("message")
    if isinstance(message, dict) and isinstance(message.get("text"), str):
        chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
        sender = message.get("from") if isinstance(message.get("from"), dict) else {}
        match = _START.match(message["text"].strip())
        if match and chat.get("type", "private") == "private":
            return TelegramUpdate(kind="start", chat_id=str(chat.get("id") or ""), from_id=str(sender.get("id") or ""),
                                  code=match.group(1) or "")
        return TelegramUpdate(kind="other", chat_id=str(chat.get("id") or ""))
    return TelegramUpdate(kind="other")


def twilio_signature_valid(*, url: str, params: dict[str, str], signature: str | None, auth_token: str) -> bool:
    """Verify ``X-Twilio-Signature`` with the Twilio library's validator."""
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)
