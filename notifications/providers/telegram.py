"""Telegram through the Bot API with ``python-telegram-bot``: HTML messages with inline buttons.

Button callback data is the opaque id the caller put in :class:`~notifications.messages.Button`,
never a token. ``python-telegram-bot`` is asynchronous; each send runs in its own event loop.
"""

from __future__ import annotations

import asyncio

import telegram
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.request import HTTPXRequest

from notifications.messages import Message, Recipient
from notifications.providers.base import Credentials, DeliveryError, RecipientUnreachableError
from notifications.render import render_telegram_html

TIMEOUT_S = 10.0


def telegram_bot(credentials: Credentials) -> telegram.Bot:
    """A bot with timeouts, on ``credentials.base_url`` (``.../bot``; the library appends the token)."""
    request = HTTPXRequest(connect_timeout=TIMEOUT_S, read_timeout=TIMEOUT_S, write_timeout=TIMEOUT_S)
    kwargs = {"base_url": credentials.base_url} if credentials.base_url else {}
    return telegram.Bot(credentials.bot_token, request=request, **kwargs)


def telegram_error(exc: TelegramError) -> DeliveryError:
    """Map a Bot API error; the token never appears in the text."""
    if isinstance(exc, RetryAfter | TimedOut):
        return DeliveryError(f"Telegram: {type(exc).__name__}", transient=True)
    if isinstance(exc, BadRequest | Forbidden | InvalidToken):
        return DeliveryError(f"Telegram refused the message: {exc.message}", transient=False)
    if isinstance(exc, NetworkError):
        return DeliveryError("Telegram: network error", transient=True)
    return DeliveryError(f"Telegram error: {type(exc).__name__}", transient=False)


def telegram_call(credentials: Credentials, method: str, **kwargs) -> object:
    """Call one Bot API method (``send_message``, ``answer_callback_query``...) synchronously."""

    async def run() -> object:
        async with telegram_bot(credentials) as bot:
            return await getattr(bot, method)(**kwargs)

    try:
        return asyncio.run(run())
    except TelegramError as exc:
        raise telegram_error(exc) from None


class TelegramBot:
    name = "telegram"

    def address(self, recipient: Recipient) -> str:
        if not recipient.telegram_chat_id:
            raise RecipientUnreachableError("the contact has not linked Telegram (/start <code>)")
        return recipient.telegram_chat_id

    def send(self, *, credentials: Credentials, recipient: Recipient, message: Message) -> str:
        markup = None
        if message.buttons:
            markup = telegram.InlineKeyboardMarkup(
                [[telegram.InlineKeyboardButton(b.label, callback_data=b.data) for b in message.buttons]]
            )
        sent = telegram_call(credentials, "send_message", chat_id=self.address(recipient),
                             text=render_telegram_html(message), parse_mode="HTML", reply_markup=markup,
                             link_preview_options=telegram.LinkPreviewOptions(is_disabled=True))
        return str(sent.message_id)
