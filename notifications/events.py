"""Ledger event kinds recorded by notifications."""

from ledger import kinds

NOTIFICATION_DELIVERED = kinds.register(
    "notification.delivered", description="A provider accepted a message for a recipient (one delivery attempt)."
)
NOTIFICATION_FAILED = kinds.register(
    "notification.failed", description="A delivery attempt failed (provider error, unreachable, circuit open)."
)
NOTIFICATION_UNDELIVERED = kinds.register(
    "notification.undelivered", description="Every channel of the fallback order failed for a recipient."
)
TELEGRAM_LINKED = kinds.register(
    "notification.telegram_linked", description="A contact linked a Telegram chat with their one-time code."
)
