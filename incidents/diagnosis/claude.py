"""One model call through the official ``anthropic`` client, and validation of its answer.

The model must answer through the forced ``record_diagnosis`` tool; its input is checked
against the schema here, because a model (or anything pretending to be one) may ignore the
schema. A suggested action outside the tenant's enabled recovery actions is discarded, never
passed on. Every failure is a :class:`ModelFailure` with a short reason that is safe to show
and to record; the API key never appears in it.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import anthropic
from django.conf import settings

from incidents.diagnosis.prompt import CATEGORIES, NO_ACTION, TOOL_NAME, system_prompt, tool_definition

logger = logging.getLogger(__name__)

MAX_TOKENS = 1024
_MAX_TEXT = 600
_MAX_ITEMS = 6
_no_key_logged = False


class ModelFailure(Exception):
    """The model gave no usable diagnosis; ``reason`` says why in a few words."""

    def __init__(self, reason: str, *, input_tokens: int = 0, output_tokens: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.input_tokens, self.output_tokens = reason, input_tokens, output_tokens


@dataclass(frozen=True)
class Theory:
    """A validated diagnosis from one model."""

    model: str
    likely_cause: str
    category: str
    confidence: float
    evidence: tuple[str, ...]
    checks: tuple[str, ...]
    suggested_action: str | None
    discarded_action: str | None  # what the model asked for when it was not an allowed action
    input_tokens: int
    output_tokens: int

    def answer(self) -> dict[str, Any]:
        """The tool input as it is replayed to the model in a later round."""
        return {"likely_cause": self.likely_cause, "category": self.category, "confidence": self.confidence,
                "evidence": list(self.evidence), "suggested_action": self.suggested_action or NO_ACTION,
                "logs_to_check": list(self.checks)}


@dataclass(frozen=True)
class Turn:
    """An earlier round of the conversation: what we asked and what the model answered."""

    prompt: str
    answer: dict[str, Any]
    tool_use_id: str


def api_key_configured() -> bool:
    """Whether a key is set; logs once (without the key) when it is not."""
    global _no_key_logged
    if settings.ANTHROPIC_API_KEY:
        return True
    if not _no_key_logged:
        logger.warning("ANTHROPIC_API_KEY is not set: incidents carry the policy's own explanation")
        _no_key_logged = True
    return False


@lru_cache(maxsize=4)
def _client(api_key: str, base_url: str, timeout_s: float, max_retries: int) -> anthropic.Anthropic:
    return anthropic.Anthropic(api_key=api_key, base_url=base_url or None, timeout=timeout_s, max_retries=max_retries)


def client() -> anthropic.Anthropic:
    """The shared client for the configured key, base URL, timeout and retries (thread-safe)."""
    return _client(settings.ANTHROPIC_API_KEY, settings.ANTHROPIC_BASE_URL, float(settings.ANTHROPIC_TIMEOUT_S),
                   int(settings.ANTHROPIC_MAX_RETRIES))


def conversation(history: list[Turn], prompt: str) -> list[dict[str, Any]]:
    """Earlier rounds as user/assistant turns, oldest first, then ``prompt``.

    Each earlier answer is the assistant's ``tool_use``; the next user turn starts with its
    ``tool_result``, as the API requires, followed by the new data.
    """
    messages: list[dict[str, Any]] = []
    pending: str | None = None
    for turn in [*history, Turn(prompt=prompt, answer={}, tool_use_id="")]:
        text = {"type": "text", "text": turn.prompt}
        if pending is None:
            messages.append({"role": "user", "content": [text]})
        else:
            result = {"type": "tool_result", "tool_use_id": pending, "content": "Diagnosis recorded."}
            messages.append({"role": "user", "content": [result, text]})
        if turn.tool_use_id:
            messages.append({"role": "assistant", "content": [
                {"type": "tool_use", "id": turn.tool_use_id, "name": TOOL_NAME, "input": turn.answer}]})
            pending = turn.tool_use_id
    return messages


def diagnose(*, model: str, lens: str | None, prompt: str, history: list[Turn],
             allowed_actions: tuple[str, ...]) -> Theory:
    """Ask ``model`` for a diagnosis; raises :class:`ModelFailure` when there is none to use."""
    if not settings.ANTHROPIC_API_KEY:
        raise ModelFailure("no API key configured")
    try:
        message = client().messages.create(
            model=model,
            max_tokens=MAX_TOKENS,
            system=system_prompt(lens),
            messages=conversation(history, prompt),
            tools=[tool_definition(allowed_actions)],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
    except anthropic.APITimeoutError:
        raise ModelFailure("timeout") from None
    except anthropic.APIStatusError as exc:
        raise ModelFailure(f"API error {exc.status_code}") from None
    except anthropic.APIConnectionError:
        raise ModelFailure("connection error") from None
    usage = getattr(message, "usage", None)
    tokens_in = int(getattr(usage, "input_tokens", 0) or 0)
    tokens_out = int(getattr(usage, "output_tokens", 0) or 0)
    blocks = [b for b in message.content if getattr(b, "type", "") == "tool_use" and b.name == TOOL_NAME]
    if not blocks:
        raise ModelFailure("malformed output: no record_diagnosis tool call", input_tokens=tokens_in,
                           output_tokens=tokens_out)
    try:
        return validate(blocks[0].input, model=model, allowed_actions=allowed_actions,
                        input_tokens=tokens_in, output_tokens=tokens_out)
    except ValueError as exc:
        raise ModelFailure(f"malformed output: {exc}", input_tokens=tokens_in, output_tokens=tokens_out) from None


def validate(data: Any, *, model: str, allowed_actions: tuple[str, ...], input_tokens: int = 0,
             output_tokens: int = 0) -> Theory:
    """The tool input as a :class:`Theory`; ``ValueError`` naming the first field that is wrong."""
    if not isinstance(data, dict):
        raise ValueError("the tool input is not an object")
    cause = data.get("likely_cause")
    if not isinstance(cause, str) or not cause.strip():
        raise ValueError("likely_cause is missing")
    category = data.get("category")
    if category not in CATEGORIES:
        raise ValueError("category is not one of the known categories")
    confidence = data.get("confidence")
    if isinstance(confidence, bool) or not isinstance(confidence, int | float) or not math.isfinite(confidence):
        raise ValueError("confidence is not a number")
    if not 0 <= confidence <= 1:
        raise ValueError("confidence is outside 0..1")
    action = data.get("suggested_action")
    if action is not None and not isinstance(action, str):
        raise ValueError("suggested_action is not a string")
    chosen = action if action in allowed_actions else None
    discarded = action if action and action != NO_ACTION and chosen is None else None
    return Theory(model=model, likely_cause=cause.strip()[:_MAX_TEXT], category=category,
                  confidence=round(float(confidence), 4), evidence=_texts(data.get("evidence"), "evidence"),
                  checks=_texts(data.get("logs_to_check"), "logs_to_check"), suggested_action=chosen,
                  discarded_action=discarded[:100] if discarded else None, input_tokens=input_tokens,
                  output_tokens=output_tokens)


def _texts(value: Any, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} is not a list of strings")
    return tuple(v.strip()[:_MAX_TEXT] for v in value if v.strip())[:_MAX_ITEMS]
