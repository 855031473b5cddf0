"""What notifications are handed: a structured message and a recipient, independent of any channel.

The caller (the incident pipeline) composes the content; each provider renders it for its channel
(:mod:`notifications.render`). Both travel through Celery as JSON (``as_dict``/``from_dict``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Section:
    """A titled block of the message, e.g. "Likely cause" and its text (lines kept as given)."""

    heading: str
    body: str


@dataclass(frozen=True)
class Link:
    """A link the reader may open, e.g. the approval page."""

    label: str
    url: str


@dataclass(frozen=True)
class Button:
    """A chat button (Telegram) carrying ``data``: an opaque id of at most 64 bytes, never a credential."""

    label: str
    data: str

    def __post_init__(self) -> None:
        if not 1 <= len(self.data.encode()) <= 64:
            raise ValueError("button data must be 1 to 64 bytes")


@dataclass(frozen=True)
class Message:
    """One message, identified by ``dedupe_key``: it is delivered at most once to each recipient."""

    dedupe_key: str
    title: str
    summary: str = ""
    note: str = ""
    sections: tuple[Section, ...] = ()
    links: tuple[Link, ...] = ()
    buttons: tuple[Button, ...] = ()
    footer: str = ""
    speech: str = ""
    #: Personal links (approval links name their recipient) must never go to team-wide channels.
    personal: bool = False
    #: Recorded as the ledger entries' incident id (an opaque subject id to this app).
    subject_id: str | None = None
    #: Where a voice call's key press is reported (a URL on the tenant's host), if any.
    voice_callback_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Message:
        values = dict(data)
        values["sections"] = tuple(Section(**s) for s in values.get("sections", ()))
        values["links"] = tuple(Link(**link) for link in values.get("links", ()))
        values["buttons"] = tuple(Button(**b) for b in values.get("buttons", ()))
        return cls(**values)


@dataclass(frozen=True)
class Recipient:
    """Someone (or, with ``key="team:<channel>"``, a team-wide channel) to deliver to."""

    key: str
    name: str = ""
    phone_e164: str = ""
    telegram_chat_id: str = ""

    @property
    def is_team(self) -> bool:
        return self.key.startswith("team")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipient:
        return cls(**data)
