"""Degraded mode: evaluating the shared failure rates into NORMAL / DEGRADED / EMERGENCY.

The primitives every component uses (``record``, ``current_mode``, ``suppressed``) are in
:mod:`saas.degraded`; this module decides the mode and records its changes in the platform
ledger. See that module for what each mode suppresses.
"""

from __future__ import annotations

import logging
import threading

import redis
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from incidents.events import PLATFORM_MODE_CHANGED
from ledger.models import ActorType, Source
from ledger.services import ledger_append
from saas.degraded import (
    MODE_KEY,
    SUPPRESSED,
    Mode,
    Rate,
    current_mode,
    failure_rates,
    mode_from,
    publish,
    published_mode,
    record,
    redis_client,
    suppressed,
)

__all__ = ["MODE_KEY", "Mode", "Rate", "current_mode", "mode_evaluate", "mode_from", "record", "suppressed"]
logger = logging.getLogger(__name__)
_last_evaluated = threading.local()


def mode_evaluate() -> Mode:
    """Compute the mode from the window, publish it, and record a change in the platform ledger."""
    try:
        client = redis_client()
        client.ping()
        rates, redis_ok, previous = failure_rates(client), True, published_mode(client)
    except redis.RedisError:
        client, rates, redis_ok, previous = None, {}, False, getattr(_last_evaluated, "mode", Mode.NORMAL)
    mode, failing = mode_from(rates, redis_ok=redis_ok)
    _last_evaluated.mode = mode
    if client is not None:
        try:
            publish(client, mode)
        except redis.RedisError:
            pass
    if mode != previous:
        logger.warning("platform mode %s -> %s (failing: %s)", previous, mode, ", ".join(failing) or "none")
        with schema_context(get_public_schema_name()), transaction.atomic():
            ledger_append(
                kind=PLATFORM_MODE_CHANGED, actor_type=ActorType.SYSTEM, actor_id="degraded-mode", source=Source.SYSTEM,
                stage_from=previous.value, stage_to=mode.value,
                reason=f"failing: {', '.join(failing)}" if failing else "all components healthy",
                body={"failing": failing, "suppressed": sorted(SUPPRESSED[mode]),
                      "rates": {name: [r.failures, r.total] for name, r in sorted(rates.items())}},
            )
    return mode
