"""Fake of Slack incoming webhooks: ``POST /services/T.../B.../<secret>`` answering ``ok``.

The body is JSON (or a form with a JSON ``payload`` field, which Slack also accepts). Errors are
Slack's plain-text codes: ``invalid_payload``, ``no_text``, ``invalid_blocks``, ``no_service``.
The last path segment is the webhook's secret and is never recorded.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from werkzeug.wrappers import Request, Response

from devfakes.wire import Fake

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
_PATH = re.compile(r"^services/(?P<team>[A-Z0-9]+)/(?P<hook>[A-Z0-9]+)/(?P<secret>[A-Za-z0-9]+)$")


def _text(status: int, body: str) -> Response:
    return Response(body, status=status, mimetype="text/plain")


class SlackFake(Fake):
    """``/slack/services/<team>/<hook>/<secret>``."""

    name = "slack"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._posts: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Forget every post."""
        with self.lock:
            self._posts.clear()

    def posts(self) -> list[dict[str, Any]]:
        """Every accepted post: ``team``, ``hook``, ``time`` and the ``payload``."""
        with self.lock:
            return [dict(p) for p in self._posts]

    def redact_path(self, path: str) -> str:
        """Drop the webhook's secret from the recorded path."""
        return re.sub(r"(/services/[^/]+/[^/]+/)[^/]+$", r"\1<secret>", path)

    def invalid_body(self) -> Response:
        """Slack's answer to a body that is not JSON."""
        return _text(400, "invalid_payload")

    def handle(self, request: Request, subpath: str, body: Any) -> Response:
        """Accept a message post."""
        match = _PATH.match(subpath)
        if not match or request.method != "POST":
            return _text(404, "no_service")
        if isinstance(body, dict) and set(body) == {"payload"}:
            try:
                body = json.loads(body["payload"])
            except ValueError:
                return _text(400, "invalid_payload")
        if not isinstance(body, dict):
            return _text(400, "invalid_payload")
        blocks = body.get("blocks")
        if not body.get("text") and not blocks and not body.get("attachments"):
            return _text(400, "no_text")
        if blocks is not None and not _valid_blocks(blocks):
            return _text(400, "invalid_blocks")
        with self.lock:
            self._posts.append({"team": match["team"], "hook": match["hook"], "time": time.time(), "payload": body})
        return _text(200, "ok")


def _valid_blocks(blocks: Any) -> bool:
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return False
    for block in blocks:
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            return False
        text = block.get("text")
        if block["type"] == "section" and isinstance(text, dict) and len(str(text.get("text", ""))) > MAX_SECTION_TEXT:
            return False
    return True
