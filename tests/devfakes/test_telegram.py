"""The Telegram fake, driven through ``python-telegram-bot``, and its simulated users."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import telegram
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode

from devfakes.config import FakeConfig
from devfakes.server import FakesHandle

from .conftest import WebhookReceiver

CONFIG = FakeConfig()
CHAT = 1001
SECRET = "hook-secret_123"
ALERT = (
    "<b>Checkout API degraded</b>\nLikely cause: Database connection pool exhausted\n"
    '<a href="https://demo.localhost/action/recover?token=a_b_c">Review the fix</a>'
)
KEYBOARD = InlineKeyboardMarkup(
    [
        [
            InlineKeyboardButton("Approve", callback_data="apv:7f3a"),
            InlineKeyboardButton("Do not run", callback_data="rej:7f3a"),
        ]
    ]
)


def run(fakes: FakesHandle, action: Callable[[telegram.Bot], Awaitable[Any]]) -> Any:
    async def scenario() -> Any:
        async with telegram.Bot(CONFIG.telegram_bot_token, base_url=f"{fakes.url}/telegram/bot") as bot:
            return await action(bot)

    return asyncio.run(scenario())


def test_get_me_names_the_bot_of_the_token(fakes: FakesHandle) -> None:
    me = run(fakes, lambda bot: bot.get_me())

    assert me.is_bot and me.username == CONFIG.telegram_bot_username
    assert me.id == int(CONFIG.telegram_bot_token.split(":")[0])


def test_a_wrong_token_is_unauthorized_and_the_token_is_never_recorded(fakes: FakesHandle) -> None:
    async def wrong() -> None:
        async with telegram.Bot("1:wrong", base_url=f"{fakes.url}/telegram/bot"):
            pass

    with pytest.raises(telegram.error.InvalidToken):
        asyncio.run(wrong())
    run(fakes, lambda bot: bot.get_me())
    assert CONFIG.telegram_bot_token not in json.dumps(fakes.recorded())
    assert fakes.recorded("telegram")[-1]["path"] == "/telegram/bot<token>/getMe"


def test_an_html_message_with_inline_buttons_comes_back_parsed(fakes: FakesHandle) -> None:
    message = run(fakes, lambda bot: bot.send_message(CHAT, ALERT, parse_mode=ParseMode.HTML, reply_markup=KEYBOARD))

    assert message.text.startswith("Checkout API degraded\n")
    assert "<b>" not in message.text
    kinds = {(e.type, e.url) for e in message.entities}
    assert ("bold", None) in kinds
    assert ("text_link", "https://demo.localhost/action/recover?token=a_b_c") in kinds
    assert message.reply_markup == KEYBOARD
    assert message.chat.id == CHAT and message.chat.type == "private"


def test_html_telegram_cannot_parse_is_refused(fakes: FakesHandle) -> None:
    with pytest.raises(telegram.error.BadRequest, match=r'(?i)unsupported start tag "script"'):
        run(fakes, lambda bot: bot.send_message(CHAT, "<script>alert(1)</script>", parse_mode=ParseMode.HTML))
    with pytest.raises(telegram.error.BadRequest, match=r"(?i)can't parse entities"):
        run(fakes, lambda bot: bot.send_message(CHAT, "p95 < 300 & <b>ok", parse_mode=ParseMode.HTML))


def test_callback_data_longer_than_64_bytes_is_refused(fakes: FakesHandle) -> None:
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("Approve", callback_data="x" * 65)]])

    with pytest.raises(telegram.error.BadRequest, match=r"(?i)button_data_invalid"):
        run(fakes, lambda bot: bot.send_message(CHAT, "Approve?", reply_markup=too_long))


def test_a_button_press_reaches_the_webhook_as_an_update_with_the_secret(
    fakes: FakesHandle, webhook_receiver: WebhookReceiver
) -> None:
    async def set_up(bot: telegram.Bot) -> telegram.Message:
        assert await bot.set_webhook(webhook_receiver.url, secret_token=SECRET)
        return await bot.send_message(CHAT, ALERT, parse_mode=ParseMode.HTML, reply_markup=KEYBOARD)

    sent = run(fakes, set_up)
    outcome = fakes.telegram.press(CHAT, "apv:7f3a")

    assert outcome["delivered"] and outcome["status"] == 200
    (delivery,) = webhook_receiver.received
    assert delivery["headers"]["X-Telegram-Bot-Api-Secret-Token"] == SECRET
    update = Update.de_json(delivery["body"], None)
    assert update.callback_query.data == "apv:7f3a"
    assert update.callback_query.from_user.id == CHAT
    assert update.callback_query.message.message_id == sent.message_id

    async def answer_twice(bot: telegram.Bot) -> None:
        assert await bot.answer_callback_query(update.callback_query.id, text="Approved")
        with pytest.raises(telegram.error.BadRequest, match=r"(?i)query is too old"):
            await bot.answer_callback_query(update.callback_query.id)

    run(fakes, answer_twice)
    (hook_call,) = fakes.recorded("telegram_webhook")
    assert hook_call["headers"]["x-telegram-bot-api-secret-token"] == "[redacted]"


def test_only_data_that_was_on_a_button_can_be_pressed(fakes: FakesHandle) -> None:
    run(fakes, lambda bot: bot.send_message(CHAT, "Approve?", reply_markup=KEYBOARD))

    with pytest.raises(LookupError):
        fakes.telegram.press(CHAT, "apv:forged")


def test_start_with_a_code_arrives_as_a_bot_command(fakes: FakesHandle, webhook_receiver: WebhookReceiver) -> None:
    run(fakes, lambda bot: bot.set_webhook(webhook_receiver.url, secret_token=SECRET))

    fakes.telegram.send_text(2002, "/start LINK-42", first_name="Dana", username="dana_oncall")

    update = Update.de_json(webhook_receiver.received[0]["body"], None)
    assert update.message.text == "/start LINK-42"
    assert update.message.entities[0].type == "bot_command"
    assert (update.effective_user.id, update.effective_user.first_name) == (2002, "Dana")


def test_without_a_webhook_updates_wait_for_get_updates(fakes: FakesHandle) -> None:
    fakes.telegram.send_text(CHAT, "/start LINK-1")

    updates = run(fakes, lambda bot: bot.get_updates(timeout=0))

    assert [u.message.text for u in updates] == ["/start LINK-1"]


def test_editing_the_text_drops_the_keyboard_unless_repeated(fakes: FakesHandle) -> None:
    async def edit(bot: telegram.Bot) -> telegram.Message:
        sent = await bot.send_message(CHAT, "Approve?", reply_markup=KEYBOARD)
        edited = await bot.edit_message_text("Approved by Dana", chat_id=CHAT, message_id=sent.message_id)
        with pytest.raises(telegram.error.BadRequest, match=r"(?i)message is not modified"):
            await bot.edit_message_text("Approved by Dana", chat_id=CHAT, message_id=sent.message_id)
        return edited

    edited = run(fakes, edit)

    assert edited.text == "Approved by Dana" and edited.reply_markup is None
    assert edited.edit_date is not None
    (bubble,) = fakes.services.runtime.phone.items()
    assert bubble.edited and bubble.buttons == () and bubble.text == "Approved by Dana"
