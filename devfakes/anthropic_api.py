"""Fake of the Anthropic Messages API (``POST /v1/messages``) with tool use and scenario scripts.

Without a script, every model answers with the diagnosis :func:`devfakes.diagnosis.derive_theory`
finds in the user messages, shaped to the requested tool's ``input_schema``. A script replaces that
per model (matched exactly, by substring such as ``"haiku"``, or ``"*"`` for every model): a
scripted diagnosis, an exact tool input (for malformed output), a text-only answer (no
``tool_use`` block), an API error, and a delay before any of these (for timeouts).
"""

from __future__ import annotations

import json
import secrets
import string
from dataclasses import asdict, dataclass, fields
from typing import Any

from werkzeug.wrappers import Request, Response

from devfakes.diagnosis import SchemaFiller, Theory, derive_theory
from devfakes.wire import Fake, json_response

MODES = ("auto", "tool", "text", "error")
ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_ALPHABET = string.ascii_letters + string.digits


def _anthropic_id(prefix: str) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(24))


@dataclass(frozen=True)
class Behaviour:
    """How a model answers the requests a script entry applies to.

    ``mode``:
      - ``auto``: the derived diagnosis, with ``category``/``cause``/``confidence``/``action``
        replaced when given, and ``input`` merged over the generated tool input;
      - ``tool``: a ``tool_use`` block whose input is exactly ``input`` (malformed output tests),
        named ``tool_name`` or the requested tool;
      - ``text``: only a text block saying ``text``, no ``tool_use``;
      - ``error``: an API error with HTTP ``status`` (type derived from it unless ``error_type``).
    ``delay_s`` waits before answering, in any mode. ``times`` is how many requests the entry
    answers before the next entry of the script takes over; ``None`` means all of them.
    """

    mode: str = "auto"
    category: str | None = None
    cause: str | None = None
    confidence: float | None = None
    action: str | None = None
    input: dict[str, Any] | None = None
    tool_name: str | None = None
    text: str | None = None
    status: int = 500
    error_type: str | None = None
    message: str | None = None
    delay_s: float = 0.0
    times: int | None = None

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, not {self.mode!r}")
        if self.mode == "tool" and not isinstance(self.input, dict):
            raise ValueError("mode 'tool' needs an input object")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be at least 1 (or null for every request)")
        if not 0 <= self.delay_s <= 600:
            raise ValueError("delay_s must be between 0 and 600")

    @classmethod
    def from_json(cls, data: Any) -> Behaviour:
        """Build from the control API's JSON object; unknown keys are an error."""
        if not isinstance(data, dict):
            raise ValueError("a behaviour must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown behaviour keys: {sorted(unknown)}")
        return cls(**data)


class _Entry:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour
        self.remaining = behaviour.times


class RequestError(ValueError):
    """A request the real API would refuse with ``invalid_request_error``."""


class AnthropicFake(Fake):
    """``/anthropic/v1/messages`` and ``/anthropic/v1/messages/count_tokens``."""

    name = "anthropic"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._scripts: dict[str, list[_Entry]] = {}

    # -- scenario control -------------------------------------------------------------------

    def script(self, model: str = "*", *behaviours: Behaviour) -> None:
        """Replace the script of ``model`` (exact name, substring, or ``"*"``); none clears it."""
        with self.lock:
            if behaviours:
                self._scripts[model] = [_Entry(b) for b in behaviours]
            else:
                self._scripts.pop(model, None)

    def reset(self) -> None:
        """Drop every script: all models answer with the derived diagnosis again."""
        with self.lock:
            self._scripts.clear()

    def scripts(self) -> dict[str, list[dict[str, Any]]]:
        """The scripts as JSON, with how many requests each entry still answers."""
        with self.lock:
            return {
                model: [{**asdict(e.behaviour), "remaining": e.remaining} for e in entries]
                for model, entries in self._scripts.items()
            }

    def _behaviour_for(self, model: str) -> Behaviour:
        with self.lock:
            keys = [k for k in self._scripts if k != "*" and k in model]
            key = model if model in self._scripts else max(keys, key=len) if keys else "*"
            entries = self._scripts.get(key, [])
            if not entries:
                return Behaviour()
            entry = entries[0]
            if entry.remaining is not None:
                entry.remaining -= 1
                if entry.remaining == 0:
                    entries.pop(0)
            return entry.behaviour

    def control(self, request: Request, subpath: str, body: Any) -> Response:
        """``POST /_control/anthropic`` sets a script, ``GET`` shows them, ``DELETE`` clears."""
        if subpath:
            return super().control(request, subpath, body)
        if request.method == "GET":
            return json_response(self.scripts())
        if request.method == "DELETE":
            self.reset()
            return json_response(self.scripts())
        if not isinstance(body, dict):
            return json_response({"error": "expected a JSON object"}, status=400)
        model = body.get("model", "*")
        raw = body.get("behaviours", [body["behaviour"]] if "behaviour" in body else [])
        try:
            if not isinstance(model, str) or not isinstance(raw, list):
                raise ValueError("model must be a string and behaviours a list")
            behaviours = [Behaviour.from_json(item) for item in raw]
        except (TypeError, ValueError) as exc:
            return json_response({"error": str(exc)}, status=400)
        self.script(model, *behaviours)
        return json_response(self.scripts())

    # -- the API ------------------------------------------------------------------------------

    def invalid_body(self) -> Response:
        """The API's answer to a body that is not JSON."""
        return _error(400, "There was an error parsing the body of your request.")

    def handle(self, request: Request, subpath: str, body: Any) -> Response:
        """Answer a Messages API call."""
        if request.method != "POST" or subpath not in ("v1/messages", "v1/messages/count_tokens"):
            return _error(404, "Not Found")
        api_key = request.headers.get("x-api-key")
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not api_key and not bearer:
            return _error(401, "x-api-key header is required")
        if self.config.anthropic_api_key not in (api_key, bearer):
            return _error(401, "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "anthropic-version: header is required")
        try:
            tool = _validate(body, count_only=subpath.endswith("count_tokens"))
        except RequestError as exc:
            return _error(400, str(exc))
        if subpath.endswith("count_tokens"):
            return json_response({"input_tokens": _tokens(body)})
        if not str(body["model"]).startswith("claude-"):
            return _error(404, f"model: {body['model']}")
        behaviour = self._behaviour_for(body["model"])
        if behaviour.delay_s and self.runtime.stop.wait(behaviour.delay_s):
            return _error(529, "Overloaded")
        if behaviour.mode == "error":
            return _error(behaviour.status, behaviour.message or "Internal server error", behaviour.error_type)
        return json_response(self._message(body, tool, behaviour), headers={"request-id": _anthropic_id("req_")})

    def _message(self, body: dict[str, Any], tool: dict[str, Any] | None, behaviour: Behaviour) -> dict[str, Any]:
        theory = derive_theory(_user_text(body["messages"])).with_overrides(
            category=behaviour.category,
            cause=behaviour.cause,
            confidence=behaviour.confidence,
            action=behaviour.action,
        )
        if behaviour.mode == "text" or (tool is None and behaviour.mode != "tool"):
            content: list[dict[str, Any]] = [{"type": "text", "text": behaviour.text or theory.cause}]
            stop_reason = "end_turn"
        else:
            content = [self._tool_use(tool, behaviour, theory)]
            stop_reason = "tool_use"
        return {
            "id": _anthropic_id("msg_01"),
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": None,
            "usage": {
                "input_tokens": _tokens(body),
                "output_tokens": max(1, len(json.dumps(content)) // 4),
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "service_tier": "standard",
            },
        }

    @staticmethod
    def _tool_use(tool: dict[str, Any] | None, behaviour: Behaviour, theory: Theory) -> dict[str, Any]:
        name = behaviour.tool_name or (tool["name"] if tool else "tool")
        if behaviour.mode == "tool":
            tool_input = dict(behaviour.input or {})
        else:
            filled = SchemaFiller(tool["input_schema"] if tool else {}, theory).fill()
            tool_input = {**(filled if isinstance(filled, dict) else {}), **(behaviour.input or {})}
        return {"type": "tool_use", "id": _anthropic_id("toolu_01"), "name": name, "input": tool_input}


def _error(status: int, message: str, error_type: str | None = None) -> Response:
    payload = {
        "type": "error",
        "error": {"type": error_type or ERROR_TYPES.get(status, "api_error"), "message": message},
        "request_id": _anthropic_id("req_"),
    }
    return json_response(payload, status=status)


def _tokens(body: dict[str, Any]) -> int:
    """A rough token count (4 characters a token), enough for usage accounting tests."""
    prompt = json.dumps([body.get("system"), body.get("messages"), body.get("tools")])
    return max(1, len(prompt) // 4)


def _user_text(messages: list[dict[str, Any]]) -> str:
    parts: list[str] = []
    for message in messages:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if block.get("type") == "text":
                parts.append(str(block.get("text", "")))
            elif block.get("type") == "tool_result":
                parts.append(json.dumps(block.get("content")))
    return "\n".join(parts)


def _validate(body: Any, *, count_only: bool) -> dict[str, Any] | None:
    """Refuse what the real API refuses; return the tool the answer must use, if any."""
    if not isinstance(body, dict):
        raise RequestError("body: Input should be an object")
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise RequestError("model: Field required")
    if not count_only and (not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1):
        raise RequestError("max_tokens: Field required")
    if body.get("stream"):
        raise RequestError("stream: the local fake does not implement streaming")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: at least one message is required")
    _validate_messages(messages)
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise RequestError("tools: Input should be a valid list")
    custom = []
    for index, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise RequestError(f"tools.{index}.name: Field required")
        if "type" not in tool or tool["type"] == "custom":
            if not isinstance(tool.get("input_schema"), dict):
                raise RequestError(f"tools.{index}.custom.input_schema: Field required")
            custom.append(tool)
    choice = body.get("tool_choice") or {"type": "auto"}
    if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
        raise RequestError(
            "tool_choice: Input tag does not match any of the expected tags: 'auto', 'any', 'tool', 'none'"
        )
    if choice["type"] == "none" or not custom:
        if choice["type"] in ("any", "tool"):
            raise RequestError("tool_choice: tools must be provided when tool_choice is 'any' or 'tool'")
        return None
    if choice["type"] == "tool":
        for tool in custom:
            if tool["name"] == choice.get("name"):
                return tool
        raise RequestError(f"tool_choice.name: tool {choice.get('name')!r} is not in tools")
    return custom[0]


def _validate_messages(messages: list[Any]) -> None:
    """Roles, and the rule that each ``tool_use`` is answered by a ``tool_result`` right after it."""
    pending: set[str] = set()
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
            raise RequestError(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        content = message.get("content")
        if isinstance(content, str):
            blocks: list[Any] = [{"type": "text", "text": content}]
        elif isinstance(content, list):
            blocks = content
        else:
            raise RequestError(f"messages.{index}.content: Input should be a valid list")
        if not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
            raise RequestError(f"messages.{index}.content: each block needs a type")
        results = {b.get("tool_use_id") for b in blocks if b["type"] == "tool_result"}
        if pending and (message["role"] != "user" or not pending <= results):
            missing = ", ".join(sorted(pending - results))
            raise RequestError(
                f"messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after:"
                f" {missing}. Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            )
        if results - pending:
            raise RequestError(
                f"messages.{index}.content: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{', '.join(sorted(str(r) for r in results - pending))}."
                " Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            )
        pending = {b.get("id") for b in blocks if b["type"] == "tool_use"} if message["role"] == "assistant" else set()
