"""Fake of the Sent.dm v3 API: ``POST /v3/messages`` (template messages over WhatsApp or SMS).

Authenticated with the ``x-api-key`` header. Answers use Sent's v3 envelope
``{"success", "data", "error", "meta"}``. Sent resolves the template on its side; the fake renders
a registered template's body (``{{name}}`` placeholders), or, for an unknown template, the
parameters themselves (the single value, or ``key: value`` lines), so the fake phone has text to
show. ``Idempotency-Key`` replays the first answer, as the real API does.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from devfakes.phonelog import RECEIVED
from devfakes.telegram_html import detect_urls
from devfakes.wire import Fake, json_response

CHANNELS = ("sent", "whatsapp", "sms")
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def _envelope(*, data: Any = None, error: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "success": error is None,
        "data": data,
        "error": error,
        "meta": {
            "request_id": f"req_{uuid.uuid4().hex[:10]}",
            "timestamp": datetime.now(UTC).isoformat(),
            "version": "v3",
        },
    }


def _error(status: int, code: str, message: str, details: Any = None) -> Response:
    error = {"code": code, "message": message, "details": details, "doc_url": f"https://docs.sent.dm/errors/{code}"}
    return json_response(_envelope(error=error), status=status)


class SentDmFake(Fake):
    """``/sentdm/v3/messages`` (send) and ``/sentdm/v3/messages/{id}`` (status)."""

    name = "sentdm"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._templates: dict[str, tuple[str, str, str]] = {}
        self._messages: dict[str, dict[str, Any]] = {}
        self._idempotent: dict[str, tuple[int, dict[str, Any]]] = {}

    def add_template(self, *, name: str, body: str, template_id: str | None = None) -> str:
        """Register a template (found by id or name) whose body has ``{{param}}`` placeholders."""
        template_id = template_id or str(uuid.uuid4())
        with self.lock:
            self._templates[template_id] = self._templates[name] = (template_id, name, body)
        return template_id

    def reset(self) -> None:
        """Forget messages, templates and idempotency keys."""
        with self.lock:
            self._templates.clear()
            self._messages.clear()
            self._idempotent.clear()

    def messages(self) -> list[dict[str, Any]]:
        """Every message sent (one per recipient and channel), oldest first."""
        with self.lock:
            return [dict(m) for m in self._messages.values()]

    def invalid_body(self) -> Response:
        """Sent's answer to a body that is not JSON."""
        return _error(400, "VALIDATION_001", "Request validation failed", {"body": ["Invalid JSON"]})

    def handle(self, request: Request, subpath: str, body: Any) -> Response:
        """Route ``/v3/messages`` calls."""
        api_key = request.headers.get("x-api-key")
        if not api_key:
            return _error(401, "AUTH_001", "User is not authenticated")
        if api_key != self.config.sentdm_api_key:
            return _error(401, "AUTH_002", "Invalid or expired API key")
        if subpath == "v3/messages" and request.method == "POST":
            return self._send(request, body)
        if subpath.startswith("v3/messages/") and request.method == "GET":
            with self.lock:
                message = self._messages.get(subpath.rsplit("/", 1)[1])
            if message is None:
                return _error(404, "RESOURCE_002", "Message not found")
            return json_response(_envelope(data=message))
        return _error(404, "RESOURCE_001", "Resource not found")

    def _send(self, request: Request, body: Any) -> Response:
        key = request.headers.get("Idempotency-Key")
        if key is not None and not _IDEMPOTENCY_KEY.match(key):
            return _error(400, "VALIDATION_001", "Request validation failed", {"Idempotency-Key": ["Invalid format"]})
        with self.lock:
            if key in self._idempotent:
                status, payload = self._idempotent[key]
                return json_response(payload, status=status, headers={"Idempotent-Replayed": "true"})
        problems = _problems(body)
        if problems:
            return _error(400, "VALIDATION_001", "Request validation failed", problems)
        template = body["template"]
        parameters = {str(k): str(v) for k, v in (template.get("parameters") or {}).items()}
        with self.lock:
            known = self._templates.get(template.get("id") or template.get("name") or "")
        if template.get("id") and known is None and not template.get("name"):
            return _error(404, "RESOURCE_003", "Template not found")
        fallback = (template.get("id") or str(uuid.uuid4()), template.get("name"), None)
        template_id, template_name, text = known or fallback
        rendered = _render(text, parameters)
        channels = body.get("channel") or ["sent"]
        recipients = []
        for to in body["to"]:
            for channel in channels:
                message_id = str(uuid.uuid4())
                recipients.append({"message_id": message_id, "to": to, "channel": channel, "body": rendered})
                if not body.get("sandbox"):
                    self._remember(message_id, to, channel, template_id, template_name, rendered)
        data = {
            "status": "accepted",
            "body": rendered,
            "template_id": template_id,
            "template_name": template_name,
            "recipients": recipients,
        }
        payload = _envelope(data=data)
        if key is not None:
            with self.lock:
                self._idempotent[key] = (202, payload)
        return json_response(payload, status=202)

    def _remember(
        self, message_id: str, to: str, channel: str, template_id: str, template_name: str | None, text: str
    ) -> None:
        now = datetime.now(UTC).isoformat()
        message = {
            "id": message_id,
            "phone": to,
            "template_id": template_id,
            "template_name": template_name,
            # "sent" asks Sent to choose; the fake always chooses WhatsApp, the product's default.
            "channel": "whatsapp" if channel == "sent" else channel,
            "message_body": {"header": None, "content": text, "footer": None, "buttons": None},
            "status": "delivered",
            "created_at": now,
            "events": [
                {"status": "queued", "timestamp": now, "description": "Message queued for sending"},
                {"status": "delivered", "timestamp": now, "description": "Message delivered to recipient"},
            ],
        }
        with self.lock:
            self._messages[message_id] = message
        channel_name = "WhatsApp" if message["channel"] == "whatsapp" else "SMS"
        self.runtime.phone.post(
            chat=f"{channel_name.lower()}:{to}",
            chat_title=f"{channel_name}: {to}",
            direction=RECEIVED,
            provider="Sent.dm",
            text=text,
            entities=tuple(detect_urls(text)),
            ref={"sentdm_id": message_id},
        )


def _problems(body: Any) -> dict[str, list[str]]:
    if not isinstance(body, dict):
        return {"body": ["A JSON object is required"]}
    problems: dict[str, list[str]] = {}
    to = body.get("to")
    if not isinstance(to, list) or not to:
        problems["to"] = ["At least one recipient is required"]
    elif not all(isinstance(n, str) and _E164.match(n) for n in to):
        problems["to"] = ["Phone numbers must be in E.164 format"]
    template = body.get("template")
    if not isinstance(template, dict) or not (template.get("id") or template.get("name")):
        problems["template"] = ["A template id or name is required"]
    elif template.get("parameters") is not None and not isinstance(template["parameters"], dict):
        problems["template.parameters"] = ["Must be an object"]
    channel = body.get("channel")
    if channel is not None and (not isinstance(channel, list) or not set(channel) <= set(CHANNELS)):
        problems["channel"] = [f"Channels must be among {list(CHANNELS)}"]
    return problems


def _render(template: str | None, parameters: dict[str, str]) -> str:
    if template is not None:
        return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: parameters.get(m[1], m[0]), template)
    if len(parameters) == 1:
        return next(iter(parameters.values()))
    return "\n".join(f"{key}: {value}" for key, value in parameters.items())
