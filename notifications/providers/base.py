"""The one small interface every channel provider implements, and the errors it may raise."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from notifications.messages import Message, Recipient


class DeliveryError(Exception):
    """The provider did not accept the message. ``transient`` errors may succeed on a retry."""

    def __init__(self, detail: str, *, transient: bool) -> None:
        super().__init__(detail)
        self.transient = transient


class RecipientUnreachableError(DeliveryError):
    """This channel cannot reach the recipient (no phone number, Telegram not linked)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail, transient=False)


@dataclass(frozen=True)
class Credentials:
    """What a provider needs to send: the tenant's own or the platform's (never logged)."""

    base_url: str = ""
    account_sid: str = ""
    auth_token: str = ""
    sender: str = ""
    api_key: str = ""
    bot_token: str = ""
    url: str = ""
    secret: str = ""

    def __repr__(self) -> str:
        return "Credentials(<hidden>)"


class Provider(Protocol):
    """Send ``message`` to ``recipient``; return the provider's message id or raise :class:`DeliveryError`."""

    name: str

    def address(self, recipient: Recipient) -> str:
        """The recipient's address on this channel (raises :class:`RecipientUnreachableError`)."""
        ...

    def send(self, *, credentials: Credentials, recipient: Recipient, message: Message) -> str: ...


def http_status_error(status: int, detail: str) -> DeliveryError:
    """A provider's HTTP error: 408, 425, 429 and 5xx are transient, other 4xx are not."""
    return DeliveryError(f"HTTP {status}: {detail[:300]}", transient=status in (408, 425, 429) or status >= 500)
