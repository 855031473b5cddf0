"""Celery entry point of deliveries (queue ``notify``): one step per run, re-queued for back-off and fallback."""

from __future__ import annotations

from notifications.messages import Message, Recipient
from notifications.services import delivery_step
from saas.celery import app


@app.task(name="notifications.tasks.message_deliver", ignore_result=True, acks_late=True)
def message_deliver(message: dict, recipient: dict, kinds: list[str] | None = None, channel_index: int = 0,
                    attempt: int = 1) -> bool:
    """Deliver ``message`` to ``recipient``; safe to run twice (the delivery claim is a unique row)."""
    step = delivery_step(message=Message.from_dict(message), recipient=Recipient.from_dict(recipient),
                         kinds=tuple(kinds) if kinds else None, channel_index=channel_index, attempt=attempt)
    if not step.done:
        message_deliver.apply_async((message, recipient, kinds, step.channel_index, step.attempt),
                                    countdown=step.delay_s)
    return step.delivered
