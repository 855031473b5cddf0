"""Fake of the Telegram Bot API (``/bot<token>/<method>``) and of Telegram's webhook deliveries.

Methods: ``getMe``, ``sendMessage`` (HTML parse mode checked as strictly as Telegram does, inline
keyboards validated), ``editMessageText``, ``editMessageReplyMarkup``, ``answerCallbackQuery``,
``setWebhook``, ``deleteWebhook``, ``getWebhookInfo``, ``getUpdates`` and ``sendChatAction``.
Parameters are accepted as JSON, form or multipart, as the real API accepts them.

Users are simulated: :meth:`TelegramFake.press` taps an inline button of a message the bot sent,
:meth:`TelegramFake.send_text` types a message (such as ``/start <code>``). Each becomes a real
``Update`` POSTed to the webhook registered with ``setWebhook``, carrying its
``X-Telegram-Bot-Api-Secret-Token``; without a webhook it waits for ``getUpdates``. Unlike
Telegram, plain ``http://`` webhook URLs on any port are accepted, for local use.
"""

from __future__ import annotations

import json
import re
import secrets
import threading
import time
from typing import Any

import requests
from werkzeug.wrappers import Request, Response

from devfakes.phonelog import NOTE, RECEIVED, SENT, Button, Entity
from devfakes.telegram_html import ParseError, detect_urls, from_utf16, parse_html, to_utf16, utf16_length
from devfakes.wire import Fake, json_response

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
WEBHOOK_TIMEOUT_S = 10
_PATH = re.compile(r"^bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
_BUTTON_KINDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)


class BotApiError(Exception):
    """An error answer of the Bot API."""

    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


def _bad(description: str) -> BotApiError:
    return BotApiError(400, f"Bad Request: {description}")


def _decode(value: Any) -> Any:
    """Form parameters arrive JSON-encoded when they are not strings (python-telegram-bot does so)."""
    if isinstance(value, str) and (value[:1] in ("{", "[") or value in ("true", "false")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _int(params: dict[str, Any], name: str, *, required: bool = True) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _bad(f"{name} is empty")
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(f"invalid {name} specified") from None


class TelegramFake(Fake):
    """``/telegram/bot<token>/<method>`` plus the simulated users of the bot."""

    name = "telegram"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._updates_ready = threading.Condition(self.lock)
        self.reset()

    @property
    def bot_id(self) -> int:
        """The bot's user id, which Telegram puts before the colon of the token."""
        return int(self.config.telegram_bot_token.split(":", 1)[0])

    def reset(self) -> None:
        """Forget chats, messages, the webhook and pending updates."""
        with self.lock:
            self._users: dict[int, dict[str, Any]] = {}
            self._messages: dict[tuple[int, int], dict[str, Any]] = {}
            self._next_message_id: dict[int, int] = {}
            # callback query id -> (answered yet, chat it came from)
            self._callbacks: dict[str, tuple[bool, int]] = {}
            self._webhook: dict[str, Any] | None = None
            self._pending: list[dict[str, Any]] = []
            self._update_id = 100000
            self._last_error: tuple[int, str] | None = None

    def redact_path(self, path: str) -> str:
        """The bot token is a credential: it never reaches the record."""
        return path.replace(self.config.telegram_bot_token, "<token>")

    # -- simulated users ----------------------------------------------------------------------

    def user(self, chat_id: int, *, first_name: str | None = None, username: str | None = None) -> dict[str, Any]:
        """The simulated person behind private chat ``chat_id`` (created on first use)."""
        with self.lock:
            user = self._users.setdefault(
                chat_id, {"id": chat_id, "is_bot": False, "first_name": "Phone user", "language_code": "en"}
            )
            if first_name:
                user["first_name"] = first_name
            if username:
                user["username"] = username
            return dict(user)

    def webhook(self) -> dict[str, Any] | None:
        """The registered webhook (URL, whether a secret is set, allowed updates), if any."""
        with self.lock:
            if self._webhook is None:
                return None
            return {k: v for k, v in self._webhook.items() if k != "secret_token"} | {
                "has_secret_token": bool(self._webhook.get("secret_token"))
            }

    def sent_messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """Messages the bot sent (in their current, possibly edited, form), oldest first."""
        with self.lock:
            return [
                self._public(m)
                for (chat, _), m in sorted(self._messages.items())
                if m["from"]["id"] == self.bot_id and chat_id in (None, chat)
            ]

    def send_text(
        self, chat_id: int, text: str, *, first_name: str | None = None, username: str | None = None
    ) -> dict[str, Any]:
        """The user of ``chat_id`` sends ``text`` to the bot; returns the delivery outcome."""
        sender = self.user(chat_id, first_name=first_name, username=username)
        entities = []
        command = re.match(r"^/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)
        if command:
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_length(command[0])})
        with self.lock:
            message = self._new_message(chat_id, sender, text, [])
            if entities:
                message["entities"] = entities
        self.runtime.phone.post(
            chat=f"telegram:{chat_id}", chat_title=self._title(chat_id), direction=SENT, provider="You", text=text
        )
        return self.deliver({"message": self._public(message)})

    def press(
        self, chat_id: int, callback_data: str, *, message_id: int | None = None, label: str | None = None
    ) -> dict[str, Any]:
        """The user of ``chat_id`` taps the button with ``callback_data`` (on ``message_id``, or the
        newest message that has it); returns the delivery outcome. Raises ``LookupError`` when no
        such button exists, since Telegram only ever sends data that was on a button.
        """
        with self.lock:
            candidates = [
                m
                for (chat, mid), m in sorted(self._messages.items(), reverse=True)
                if chat == chat_id and message_id in (None, mid) and m["from"]["id"] == self.bot_id
            ]
            message = next((m for m in candidates if callback_data in _callback_datas(m)), None)
            if message is None:
                raise LookupError(f"no button with callback data {callback_data!r} in chat {chat_id}")
            query_id = str(secrets.randbelow(10**18) + 10**18)
            self._callbacks[query_id] = (False, chat_id)
            public = self._public(message)
        button = label or next(
            (b["text"] for row in _keyboard(message) for b in row if b.get("callback_data") == callback_data), ""
        )
        self.runtime.phone.post(
            chat=f"telegram:{chat_id}",
            chat_title=self._title(chat_id),
            direction=NOTE,
            provider="You",
            text=f"You tapped \u201c{button}\u201d",
        )
        query = {
            "id": query_id,
            "from": self.user(chat_id),
            "message": public,
            "chat_instance": str(abs(hash((self.bot_id, chat_id)))),
            "data": callback_data,
        }
        return self.deliver({"callback_query": query})

    def deliver(self, update: dict[str, Any]) -> dict[str, Any]:
        """Give an update an id and POST it to the webhook, or queue it for ``getUpdates``."""
        with self.lock:
            self._update_id += 1
            update = {"update_id": self._update_id, **update}
            hook = dict(self._webhook) if self._webhook else None
            kind = next(k for k in update if k != "update_id")
            if hook and hook.get("allowed_updates") and kind not in hook["allowed_updates"]:
                return {"update": update, "delivered": False, "status": None, "error": f"{kind} not in allowed_updates"}
            if hook is None:
                self._pending.append(update)
                self._updates_ready.notify_all()
                return {"update": update, "delivered": False, "status": None, "error": "queued for getUpdates"}
        return self._post_to_webhook(hook, update)

    def _post_to_webhook(self, hook: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = hook["secret_token"]
        entry = self.recorder.begin(
            fake="telegram_webhook", method="POST", path=hook["url"], query={}, headers=headers, body=update
        )
        try:
            answer = requests.post(
                hook["url"], data=json.dumps(update), headers=headers, timeout=WEBHOOK_TIMEOUT_S, allow_redirects=False
            )
        except requests.RequestException as exc:
            error = f"{type(exc).__name__}: connection to the webhook failed"
            self.recorder.finish(entry, status=None, response=error)
            with self.lock:
                self._last_error = (int(time.time()), error)
            return {"update": update, "delivered": False, "status": None, "error": error}
        self.recorder.finish(entry, status=answer.status_code, response=answer.text[:2000])
        ok = 200 <= answer.status_code < 300
        if not ok:
            with self.lock:
                self._last_error = (int(time.time()), f"Wrong response from the webhook: {answer.status_code}")
        error = None if ok else answer.text[:200]
        return {"update": update, "delivered": ok, "status": answer.status_code, "error": error}

    def control(self, request: Request, subpath: str, body: Any) -> Response:
        """``POST /_control/telegram/press`` taps a button, ``.../send`` types a message."""
        if request.method != "POST" or subpath not in ("press", "send") or not isinstance(body, dict):
            return super().control(request, subpath, body)
        try:
            chat_id = int(body["chat_id"])
            if subpath == "press":
                message_id = int(body["message_id"]) if body.get("message_id") is not None else None
                outcome = self.press(chat_id, str(body["callback_data"]), message_id=message_id)
            else:
                outcome = self.send_text(
                    chat_id, str(body["text"]), first_name=body.get("first_name"), username=body.get("username")
                )
        except (KeyError, TypeError, ValueError) as exc:
            return json_response({"error": f"invalid request: {exc}"}, status=400)
        except LookupError as exc:
            return json_response({"error": str(exc)}, status=404)
        return json_response(outcome)

    # -- the Bot API --------------------------------------------------------------------------

    def invalid_body(self) -> Response:
        """The Bot API's answer to a body that is not JSON."""
        return _fail(BotApiError(400, "Bad Request: can't parse JSON object"))

    def handle(self, request: Request, subpath: str, body: Any) -> Response:
        """Check the token, gather the parameters and run the method."""
        match = _PATH.match(subpath)
        if not match:
            return _fail(BotApiError(404, "Not Found"))
        if not secrets.compare_digest(match["token"], self.config.telegram_bot_token):
            return _fail(BotApiError(401, "Unauthorized"))
        params: dict[str, Any] = dict(request.args.items())
        if isinstance(body, dict):
            params.update(body)
        params = {key: _decode(value) for key, value in params.items()}
        method = getattr(self, f"_m_{match['method'].lower()}", None)
        if method is None:
            return _fail(BotApiError(404, "Not Found"))
        try:
            result = method(params)
        except BotApiError as error:
            return _fail(error)
        if isinstance(result, tuple):
            result, description = result
            return json_response({"ok": True, "result": result, "description": description})
        return json_response({"ok": True, "result": result})

    def _m_getme(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._bot_user() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    def _m_sendchataction(self, params: dict[str, Any]) -> bool:
        _int(params, "chat_id")
        return True

    def _m_sendmessage(self, params: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        text, entities = _formatted(params)
        keyboard = _validate_markup(params.get("reply_markup"))
        with self.lock:
            message = self._new_message(chat_id, self._bot_user(), text, entities)
            if keyboard is not None:
                message["reply_markup"] = params["reply_markup"]
        self.runtime.phone.post(
            chat=f"telegram:{chat_id}",
            chat_title=self._title(chat_id),
            direction=RECEIVED,
            provider=f"@{self.config.telegram_bot_username}",
            text=text,
            entities=tuple(message["_entities"]),
            buttons=keyboard or (),
            ref={"telegram_chat": chat_id, "message_id": message["message_id"]},
        )
        return self._public(message)

    def _m_editmessagetext(self, params: dict[str, Any]) -> dict[str, Any]:
        text, entities = _formatted(params)
        return self._edit(params, text=text, entities=entities)

    def _m_editmessagereplymarkup(self, params: dict[str, Any]) -> dict[str, Any]:
        return self._edit(params, text=None, entities=None)

    def _edit(self, params: dict[str, Any], *, text: str | None, entities: list[Entity] | None) -> dict[str, Any]:
        chat_id = self._chat_id(params)
        message_id = _int(params, "message_id")
        markup = params.get("reply_markup")
        keyboard = _validate_markup(markup)
        with self.lock:
            message = self._messages.get((chat_id, message_id or 0))
            if message is None or message["from"]["id"] != self.bot_id:
                raise _bad("message to edit not found")
            new_text = message["text"] if text is None else text
            new_entities = message["_entities"] if entities is None else _with_urls(new_text, entities)
            if (new_text, new_entities, markup) == (message["text"], message["_entities"], message.get("reply_markup")):
                raise _bad(
                    "message is not modified: specified new message content and reply markup are exactly the same"
                    " as a current content and reply markup of the message"
                )
            message.update(text=new_text, _entities=new_entities, edit_date=int(time.time()))
            # Telegram drops the inline keyboard of an edited message unless the edit repeats it.
            message.pop("reply_markup", None)
            if keyboard is not None:
                message["reply_markup"] = markup
            public = self._public(message)
        self.runtime.phone.update(
            {"telegram_chat": chat_id, "message_id": message_id},
            text=new_text,
            entities=tuple(new_entities),
            buttons=keyboard or (),
            edited=True,
        )
        return public

    def _m_answercallbackquery(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        with self.lock:
            answered, chat_id = self._callbacks.get(query_id, (True, 0))
            if answered:
                raise _bad("query is too old and response timeout expired or query ID is invalid")
            self._callbacks[query_id] = (True, chat_id)
        if params.get("text"):
            # Telegram shows the answer as a toast over the chat the button was tapped in.
            self.runtime.phone.post(
                chat=f"telegram:{chat_id}",
                chat_title=self._title(chat_id),
                direction=NOTE,
                provider=f"@{self.config.telegram_bot_username}",
                text=str(params["text"]),
            )
        return True

    def _m_setwebhook(self, params: dict[str, Any]) -> tuple[bool, str]:
        url = str(params.get("url") or "")
        if not url:
            return self._m_deletewebhook(params)
        if not re.match(r"^https?://[^/\s]+", url):
            raise _bad("bad webhook: Failed to resolve host: Name or service not known")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.match(str(secret)):
            raise _bad("secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not isinstance(allowed, list):
            raise _bad("can't parse allowed updates")
        with self.lock:
            same = self._webhook is not None and self._webhook["url"] == url
            self._webhook = {"url": url, "secret_token": secret, "allowed_updates": allowed or None}
            if params.get("drop_pending_updates") is True:
                self._pending.clear()
        return True, "Webhook is already set" if same else "Webhook was set"

    def _m_deletewebhook(self, params: dict[str, Any]) -> tuple[bool, str]:
        with self.lock:
            existed = self._webhook is not None
            self._webhook = None
            if params.get("drop_pending_updates") is True:
                self._pending.clear()
        return True, "Webhook was deleted" if existed else "Webhook is already deleted"

    def _m_getwebhookinfo(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            info: dict[str, Any] = {
                "url": self._webhook["url"] if self._webhook else "",
                "has_custom_certificate": False,
                "pending_update_count": len(self._pending),
            }
            if self._webhook:
                info["max_connections"] = 40
                info["ip_address"] = "127.0.0.1"
                if self._webhook["allowed_updates"]:
                    info["allowed_updates"] = self._webhook["allowed_updates"]
            if self._last_error:
                info["last_error_date"], info["last_error_message"] = self._last_error
        return info

    def _m_getupdates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params, "offset", required=False)
        limit = min(max(_int(params, "limit", required=False) or 100, 1), 100)
        timeout = min(max(_int(params, "timeout", required=False) or 0, 0), 50)
        deadline = time.monotonic() + timeout
        with self.lock:
            if self._webhook is not None:
                raise BotApiError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active;"
                    " use deleteWebhook to delete the webhook first",
                )
            if offset is not None:
                self._pending = [u for u in self._pending if u["update_id"] >= offset]
            while not self._pending and not self.runtime.stop.is_set() and time.monotonic() < deadline:
                self._updates_ready.wait(min(0.5, deadline - time.monotonic()))
            return self._pending[:limit]

    # -- helpers ------------------------------------------------------------------------------

    def _bot_user(self) -> dict[str, Any]:
        username = self.config.telegram_bot_username
        return {"id": self.bot_id, "is_bot": True, "first_name": "AlertEngine", "username": username}

    def _chat_id(self, params: dict[str, Any]) -> int:
        raw = params.get("chat_id")
        if isinstance(raw, str) and raw.startswith("@"):
            raise _bad("chat not found")
        chat_id = _int(params, "chat_id")
        assert chat_id is not None
        return chat_id

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id < 0:
            return {"id": chat_id, "title": f"Group {chat_id}", "type": "group"}
        user = self.user(chat_id)
        chat = {"id": chat_id, "first_name": user["first_name"], "type": "private"}
        if "username" in user:
            chat["username"] = user["username"]
        return chat

    def _title(self, chat_id: int) -> str:
        chat = self._chat(chat_id)
        return f"Telegram: {chat.get('first_name') or chat.get('title')} ({chat_id})"

    def _new_message(self, chat_id: int, sender: dict[str, Any], text: str, entities: list[Entity]) -> dict[str, Any]:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        message = {
            "message_id": message_id,
            "from": sender,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            "text": text,
            "_entities": _with_urls(text, entities),
        }
        self._messages[(chat_id, message_id)] = message
        return message

    @staticmethod
    def _public(message: dict[str, Any]) -> dict[str, Any]:
        public = {k: v for k, v in message.items() if not k.startswith("_")}
        if message.get("_entities"):
            public["entities"] = to_utf16(message["text"], message["_entities"])
        return public


def _fail(error: BotApiError) -> Response:
    return json_response({"ok": False, "error_code": error.code, "description": error.description}, status=error.code)


def _with_urls(text: str, entities: list[Entity]) -> list[Entity]:
    return sorted([*entities, *detect_urls(text, entities)], key=lambda e: (e.start, -e.end))


def _formatted(params: dict[str, Any]) -> tuple[str, list[Entity]]:
    raw = params.get("text")
    if raw is None or raw == "":
        raise _bad("message text is empty")
    text = str(raw)
    mode = str(params.get("parse_mode") or "")
    if mode.upper() == "HTML":
        try:
            text, entities = parse_html(text)
        except ParseError as exc:
            raise _bad(f"can't parse entities: {exc}") from None
    elif isinstance(params.get("entities"), list):
        entities = from_utf16(text, params["entities"])
    else:
        entities = []
    if not text.strip():
        raise _bad("message text is empty")
    if utf16_length(text) > MAX_TEXT:
        raise _bad("message is too long")
    return text, entities


def _keyboard(message: dict[str, Any]) -> list[list[dict[str, Any]]]:
    markup = message.get("reply_markup") or {}
    return markup.get("inline_keyboard") or []


def _callback_datas(message: dict[str, Any]) -> set[str]:
    return {b["callback_data"] for row in _keyboard(message) for b in row if "callback_data" in b}


def _validate_markup(markup: Any) -> tuple[tuple[Button, ...], ...] | None:
    """The inline keyboard as phone buttons, refusing what Telegram refuses; None if there is none."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise _bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    keyboard = []
    for row in rows:
        buttons = []
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                raise _bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
            kinds = [k for k in _BUTTON_KINDS if k in button]
            if len(kinds) != 1:
                raise _bad("can't parse inline keyboard button: exactly one of the optional fields must be used")
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= MAX_CALLBACK_DATA:
                raise _bad("BUTTON_DATA_INVALID")
            url = button.get("url")
            if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                raise _bad(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")
            buttons.append(Button(text=str(button["text"]), url=url, callback_data=data))
        keyboard.append(tuple(buttons))
    return tuple(keyboard)
