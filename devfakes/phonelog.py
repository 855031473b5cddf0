"""What the fake phone shows: every message delivered to (or typed on) a simulated phone.

The fakes post here as they accept messages; the phone page renders it. Offsets of entities are
in Python characters (code points); the Telegram fake converts to and from UTF-16 at the API.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any

RECEIVED = "received"
SENT = "sent"
NOTE = "note"


@dataclass(frozen=True)
class Entity:
    """A formatted span of a message: ``bold``, ``italic``, ``text_link`` (with ``url``), ``url``..."""

    type: str
    start: int
    end: int
    url: str | None = None


@dataclass(frozen=True)
class Button:
    """An inline keyboard button: a link (``url``) or a callback (``callback_data``)."""

    text: str
    url: str | None = None
    callback_data: str | None = None


@dataclass(frozen=True)
class PhoneItem:
    """One bubble in a chat of the fake phone."""

    seq: int
    time: float
    chat: str
    chat_title: str
    direction: str
    provider: str
    text: str
    entities: tuple[Entity, ...] = ()
    buttons: tuple[tuple[Button, ...], ...] = ()
    edited: bool = False
    ref: dict[str, Any] = field(default_factory=dict)


class PhoneLog:
    """Thread-safe, bounded list of :class:`PhoneItem`, with a version that grows on each change."""

    def __init__(self, maxlen: int) -> None:
        self._items: list[PhoneItem] = []
        self._maxlen = maxlen
        self._version = 0
        self._lock = threading.Lock()

    @property
    def version(self) -> int:
        """Grows whenever the phone has something new to show."""
        with self._lock:
            return self._version

    def post(self, *, chat: str, chat_title: str, direction: str, provider: str, text: str, **extra: Any) -> PhoneItem:
        """Add a bubble at the bottom of ``chat``."""
        with self._lock:
            self._version += 1
            item = PhoneItem(
                seq=self._version,
                time=time.time(),
                chat=chat,
                chat_title=chat_title,
                direction=direction,
                provider=provider,
                text=text,
                **extra,
            )
            self._items.append(item)
            del self._items[: -self._maxlen]
            return item

    def update(self, match: dict[str, Any], **changes: Any) -> bool:
        """Change, in place, the bubble whose ``ref`` contains ``match`` (an edited message)."""
        with self._lock:
            for index, item in enumerate(self._items):
                if match.items() <= item.ref.items():
                    self._version += 1
                    self._items[index] = replace(item, **changes)
                    return True
            return False

    def items(self) -> list[PhoneItem]:
        """Every bubble, oldest first."""
        with self._lock:
            return list(self._items)

    def clear(self) -> None:
        """Empty the phone."""
        with self._lock:
            self._version += 1
            self._items.clear()
