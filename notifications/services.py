"""Delivering messages: claim, call the provider, record the outcome (row and ledger), decide what next.

:func:`delivery_step` makes one attempt on one channel and tells the task what to do next: stop,
retry the same channel after a back-off (transient errors), or move on to the tenant's next
channel (permanent errors, an open circuit, attempts used up). The task re-queues itself, so no
worker sleeps through a back-off.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from ledger.models import ActorType, Source
from ledger.services import ledger_append
from notifications.breaker import breaker_open, breaker_record
from notifications.events import NOTIFICATION_DELIVERED, NOTIFICATION_FAILED, NOTIFICATION_UNDELIVERED, TELEGRAM_LINKED
from notifications.messages import Message, Recipient
from notifications.models import Delivery
from notifications.providers import PERSONAL_KINDS, PROVIDERS
from notifications.providers.base import Credentials, DeliveryError
from saas import degraded
from tenants.configuration.models import PLATFORM_DEFAULT_KINDS, ChannelSetting, Contact
from tenants.configuration.selectors import channels_usable

logger = logging.getLogger(__name__)

MAX_ATTEMPTS_PER_CHANNEL = 3
RETRY_BACKOFF_S = (2.0, 6.0)
#: A ``sending`` row older than this belongs to a worker that died mid-call; it may be taken over.
SENDING_LEASE_S = 120


@dataclass(frozen=True)
class Next:
    """What the delivery task does after a step: nothing (``done``) or run again."""

    done: bool
    channel_index: int = 0
    attempt: int = 1
    delay_s: float = 0.0
    delivered: bool = False


DONE = Next(done=True)


def channel_credentials(channel: ChannelSetting) -> Credentials:
    """The credentials a channel sends with: the tenant's own, or the platform's default account."""
    platform = channel.use_platform_default and channel.kind in PLATFORM_DEFAULT_KINDS
    kind = channel.kind
    if kind in ("whatsapp_twilio", "voice"):
        default_from = settings.TWILIO_WHATSAPP_FROM if kind == "whatsapp_twilio" else settings.TWILIO_VOICE_FROM
        return Credentials(
            base_url=settings.TWILIO_API_BASE_URL,
            account_sid=settings.TWILIO_ACCOUNT_SID if platform else channel.twilio_account_sid,
            auth_token=settings.TWILIO_AUTH_TOKEN if platform else channel.twilio_auth_token,
            sender=default_from if platform else channel.twilio_from,
        )
    if kind == "whatsapp_sentdm":
        return Credentials(base_url=settings.SENT_API_BASE_URL,
                           api_key=settings.SENT_API_KEY if platform else channel.sentdm_api_key,
                           sender=settings.SENT_PHONE_ID if platform else channel.sentdm_sender_id)
    if kind == "telegram":
        return Credentials(base_url=settings.TELEGRAM_API_BASE_URL,
                           bot_token=settings.TELEGRAM_BOT_TOKEN if platform else channel.telegram_bot_token)
    if kind == "slack":
        return Credentials(url=channel.slack_webhook_url)
    return Credentials(url=channel.webhook_url, secret=channel.webhook_secret)


def _missing_credentials(kind: str, credentials: Credentials) -> bool:
    needed = {
        "whatsapp_twilio": (credentials.account_sid, credentials.auth_token, credentials.sender),
        "voice": (credentials.account_sid, credentials.auth_token, credentials.sender),
        "whatsapp_sentdm": (credentials.api_key,),
        "telegram": (credentials.bot_token,),
        "slack": (credentials.url,),
        "webhook": (credentials.url,),
    }[kind]
    return not all(needed)


def mask(address: str) -> str:
    """Enough of an address to recognise it in the record, not enough to harvest it."""
    if len(address) <= 6:
        return address
    return address[:5] + "*" * (len(address) - 8) + address[-3:]


def delivery_channels(*, kinds: tuple[str, ...] | None) -> list[ChannelSetting]:
    """The tenant's usable channels of ``kinds`` (personal ones by default), in fallback order."""
    kinds = kinds or PERSONAL_KINDS
    channels = [channel for channel in channels_usable() if channel.kind in kinds]
    if degraded.suppressed("voice"):
        channels = [channel for channel in channels if channel.kind != "voice"]
    if degraded.suppressed("fallback_channels"):
        channels = channels[:1]  # EMERGENCY: the first channel only, to spare failing providers
    return channels


def _live_delivery(*, dedupe_key: str, recipient: Recipient) -> Delivery | None:
    """The ``sending``/``sent`` row of this message and recipient; a stale ``sending`` row is released."""
    live = Delivery.objects.filter(dedupe_key=dedupe_key, recipient=recipient.key,
                                   status__in=[Delivery.Status.SENDING, Delivery.Status.SENT]).first()
    if live is None or live.status == Delivery.Status.SENT:
        return live
    cutoff = timezone.now() - timedelta(seconds=SENDING_LEASE_S)
    released = Delivery.objects.filter(pk=live.pk, status=Delivery.Status.SENDING, created_at__lt=cutoff).update(
        status=Delivery.Status.FAILED, error="abandoned: the worker sending it stopped", transient=True,
        completed_at=timezone.now())
    return None if released else live


def delivery_step(*, message: Message, recipient: Recipient, kinds: tuple[str, ...] | None = None,
                  channel_index: int = 0, attempt: int = 1) -> Next:
    """One delivery attempt of ``message`` to ``recipient`` on the ``channel_index``-th usable channel."""
    if recipient.is_team and message.personal:
        return DONE
    if _live_delivery(dedupe_key=message.dedupe_key, recipient=recipient) is not None:
        return DONE  # delivered already, or being delivered by another run of this task
    channels = delivery_channels(kinds=kinds)
    if channel_index >= len(channels):
        _record_undelivered(message=message, recipient=recipient, tried=len(channels))
        return DONE
    channel = channels[channel_index]
    provider = PROVIDERS[channel.kind]
    following = Next(done=False, channel_index=channel_index + 1)
    schema = connection.schema_name
    try:
        address = provider.address(recipient)
    except DeliveryError as exc:
        _record_failure(message, recipient, channel, provider.name, "", attempt, str(exc), transient=False)
        return following
    credentials = channel_credentials(channel)
    if _missing_credentials(channel.kind, credentials):
        _record_failure(message, recipient, channel, provider.name, address, attempt,
                        "the channel has no credentials configured", transient=False)
        return following
    if breaker_open(schema=schema, provider=provider.name):
        _record_failure(message, recipient, channel, provider.name, address, attempt,
                        f"circuit open: {provider.name} failed repeatedly, not attempted", transient=True)
        return following
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(dedupe_key=message.dedupe_key, channel=channel.kind,
                                               provider=provider.name, recipient=recipient.key,
                                               address=mask(address), attempt=attempt)
    except IntegrityError:
        return DONE  # another run claimed it a moment ago
    try:
        message_id = provider.send(credentials=credentials, recipient=recipient, message=message)
    except DeliveryError as exc:
        breaker_record(schema=schema, provider=provider.name, ok=not exc.transient)
        degraded.record(f"notify:{provider.name}", ok=not exc.transient)
        _complete(delivery, message, ok=False, error=str(exc), transient=exc.transient)
        if exc.transient and attempt < MAX_ATTEMPTS_PER_CHANNEL:
            return Next(done=False, channel_index=channel_index, attempt=attempt + 1,
                        delay_s=RETRY_BACKOFF_S[min(attempt, len(RETRY_BACKOFF_S)) - 1])
        return following
    except Exception as exc:  # a provider library's own bug must not leave the claim dangling
        logger.exception("provider %s raised unexpectedly", provider.name)
        _complete(delivery, message, ok=False, error=f"internal error: {type(exc).__name__}", transient=False)
        return following
    breaker_record(schema=schema, provider=provider.name, ok=True)
    degraded.record(f"notify:{provider.name}", ok=True)
    _complete(delivery, message, ok=True, provider_message_id=message_id)
    return Next(done=True, delivered=True)


def _ledger_body(delivery: Delivery) -> dict:
    return {"dedupe_key": delivery.dedupe_key, "channel": delivery.channel, "provider": delivery.provider,
            "recipient": delivery.recipient, "address": delivery.address, "attempt": delivery.attempt,
            "status": delivery.status, "provider_message_id": delivery.provider_message_id,
            "error": delivery.error, "delivery_id": delivery.pk}


def _complete(delivery: Delivery, message: Message, *, ok: bool, error: str = "", transient: bool = False,
              provider_message_id: str = "") -> None:
    with transaction.atomic():
        delivery.status = Delivery.Status.SENT if ok else Delivery.Status.FAILED
        delivery.error, delivery.transient = error[:2000], transient
        delivery.provider_message_id = provider_message_id[:128]
        delivery.completed_at = timezone.now()
        delivery.save(update_fields=["status", "error", "transient", "provider_message_id", "completed_at"])
        ledger_append(kind=NOTIFICATION_DELIVERED if ok else NOTIFICATION_FAILED, actor_type=ActorType.SYSTEM,
                      actor_id="notifications", source=Source.SYSTEM, incident_id=message.subject_id,
                      reason=(f"{message.title} sent via {delivery.channel} to {delivery.recipient}" if ok
                              else f"delivery via {delivery.channel} to {delivery.recipient} failed: {error[:300]}"),
                      body=_ledger_body(delivery))


def _record_failure(message: Message, recipient: Recipient, channel: ChannelSetting, provider: str, address: str,
                    attempt: int, error: str, *, transient: bool) -> None:
    """An attempt that did not reach the provider (unreachable, unconfigured, circuit open)."""
    with transaction.atomic():
        delivery = Delivery.objects.create(dedupe_key=message.dedupe_key, channel=channel.kind, provider=provider,
                                           recipient=recipient.key, address=mask(address), attempt=attempt,
                                           status=Delivery.Status.FAILED, error=error, transient=transient,
                                           completed_at=timezone.now())
        ledger_append(kind=NOTIFICATION_FAILED, actor_type=ActorType.SYSTEM, actor_id="notifications",
                      source=Source.SYSTEM, incident_id=message.subject_id,
                      reason=f"delivery via {channel.kind} to {recipient.key} not attempted: {error}",
                      body=_ledger_body(delivery))


def _record_undelivered(*, message: Message, recipient: Recipient, tried: int) -> None:
    ledger_append(kind=NOTIFICATION_UNDELIVERED, actor_type=ActorType.SYSTEM, actor_id="notifications",
                  source=Source.SYSTEM, incident_id=message.subject_id,
                  reason=f"{message.title}: no channel reached {recipient.key} ({tried} tried)",
                  body={"dedupe_key": message.dedupe_key, "recipient": recipient.key, "channels_tried": tried})
    logger.warning("message %s could not be delivered to %s on any of %s channels", message.dedupe_key,
                   recipient.key, tried)


def message_send(*, message: Message, recipients: list[Recipient], kinds: tuple[str, ...] | None = None) -> None:
    """Queue delivery of ``message`` to each recipient once the current transaction commits.

    ``kinds`` limits the channels (e.g. ``("voice",)``); by default personal channels are used in
    the tenant's fallback order and, unless the message is personal, team channels get a copy.
    """
    from notifications import tasks

    jobs: list[tuple[Recipient, tuple[str, ...] | None]] = [(recipient, kinds) for recipient in recipients]
    if kinds is None and not message.personal:
        team_off = {"slack"} if degraded.suppressed("slack") else set()
        team_off |= {"webhook"} if degraded.suppressed("webhook_notice") else set()
        jobs += [(Recipient(key=f"team:{channel.kind}", name=channel.get_kind_display()), (channel.kind,))
                 for channel in channels_usable()
                 if channel.kind not in PERSONAL_KINDS and channel.kind != "voice" and channel.kind not in team_off]
    payload = message.as_dict()
    for recipient, channel_kinds in jobs:
        args = (payload, recipient.as_dict(), list(channel_kinds) if channel_kinds else None)
        transaction.on_commit(lambda args=args: tasks.message_deliver.delay(*args), robust=True)


def telegram_link(*, code: str, chat_id: str) -> Contact | None:
    """Link the contact whose one-time code this is to ``chat_id``; the code is replaced (single use)."""
    from tenants.configuration.secrets import telegram_link_code_generate

    code = (code or "").strip()
    if not code or len(code) > 32:
        return None
    with transaction.atomic():
        contact = Contact.objects.select_for_update().filter(telegram_link_code=code, active=True).first()
        if contact is None:
            return None
        contact.telegram_chat_id, contact.telegram_link_code = chat_id, telegram_link_code_generate()
        contact.save(update_fields=["telegram_chat_id", "telegram_link_code"])
        ledger_append(kind=TELEGRAM_LINKED, actor_type=ActorType.ENGINEER, actor_id=f"contact:{contact.pk}",
                      source=Source.TELEGRAM, reason=f"{contact.name} linked a Telegram chat",
                      body={"contact_id": contact.pk, "chat": mask(chat_id)})
    return contact
