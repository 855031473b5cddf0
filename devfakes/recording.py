"""A thread-safe, bounded log of the requests the fakes received (and of what they sent out)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Mapping
from typing import Any

# Headers whose values are credentials: recorded as present, never with their value.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "x-api-key",
        "x-telegram-bot-api-secret-token",
        "x-twilio-signature",
        "x-hub-signature",
        "x-hub-signature-256",
    }
)
REDACTED = "[redacted]"


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Return the headers with lower-cased names and credential values replaced."""
    return {name.lower(): (REDACTED if name.lower() in SECRET_HEADERS else value) for name, value in headers.items()}


class Recorder:
    """Keeps the last ``maxlen`` entries; each entry is a plain JSON-able dict.

    An entry is added when a request arrives and completed (``status``, ``response``) when the
    answer is ready, so a request the fake is still delaying (a timeout scenario) is already
    visible to the test that caused it.
    """

    def __init__(self, maxlen: int) -> None:
        self._entries: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    def begin(
        self,
        *,
        fake: str,
        method: str,
        path: str,
        query: Mapping[str, Any],
        headers: Mapping[str, str],
        body: Any,
    ) -> dict[str, Any]:
        """Record an incoming request and return its (still incomplete) entry."""
        entry: dict[str, Any] = {
            "id": next(self._ids),
            "fake": fake,
            "time": time.time(),
            "method": method,
            "path": path,
            "query": dict(query),
            "headers": redact_headers(headers),
            "body": body,
            "status": None,
            "response": None,
        }
        with self._lock:
            self._entries.append(entry)
        return entry

    def finish(self, entry: dict[str, Any], *, status: int | None, response: Any) -> None:
        """Complete an entry with what was answered (or, for outbound calls, what came back)."""
        with self._lock:
            entry["status"] = status
            entry["response"] = response

    def entries(self, fake: str | None = None) -> list[dict[str, Any]]:
        """Copies of the entries, oldest first, optionally of one fake only."""
        with self._lock:
            return [dict(e) for e in self._entries if fake is None or e["fake"] == fake]

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()
