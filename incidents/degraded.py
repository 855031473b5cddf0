"""Degraded mode: NORMAL / DEGRADED / EMERGENCY, shared by every worker.

Components report outcomes (`record("ai", ok=False)`, `record("notify:telegram", ok=True)`); a
beat task evaluates the failure rates over a sliding window, stores the mode in Redis for every
worker to read, and records each change in the platform (public-schema) ledger. When Redis
itself is unreachable every process falls back to DEGRADED on its own: that is the one fact it
can observe without Redis.

What each mode suppresses (detection, ledger writes and approvals never stop):

| mode | suppressed |
|---|---|
| NORMAL | nothing |
| DEGRADED | AI diagnosis (the policy's explanation is used), re-diagnoses, Slack and generic-webhook notices |
| EMERGENCY | the above, plus the Diagnostic Council, voice calls and fallback channels beyond the first |
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

import redis
from django.conf import settings
from django.db import transaction
from django_tenants.utils import get_public_schema_name, schema_context

from incidents.events import PLATFORM_MODE_CHANGED
from ledger.models import ActorType, Source
from ledger.services import ledger_append

logger = logging.getLogger(__name__)

WINDOW_S = 120
MIN_SAMPLES = 5
FAILING_AT = 0.5
MODE_KEY = "alertengine:mode"
_PREFIX = "alertengine:outcomes:"
_CACHE_S = 5.0


class Mode(StrEnum):
    NORMAL = "NORMAL"
    DEGRADED = "DEGRADED"
    EMERGENCY = "EMERGENCY"


SUPPRESSED: dict[Mode, frozenset[str]] = {
    Mode.NORMAL: frozenset(),
    Mode.DEGRADED: frozenset({"ai_diagnosis", "rediagnosis", "slack", "webhook_notice"}),
    Mode.EMERGENCY: frozenset(
        {"ai_diagnosis", "rediagnosis", "slack", "webhook_notice", "council", "voice", "fallback_channels"}
    ),
}


@dataclass(frozen=True)
class Rate:
    failures: int
    total: int

    @property
    def failing(self) -> bool:
        return self.total >= MIN_SAMPLES and self.failures / self.total >= FAILING_AT


def mode_from(rates: dict[str, Rate], *, redis_ok: bool) -> tuple[Mode, list[str]]:
    """The mode for these failure rates (pure), with the names of the failing components."""
    failing = sorted(name for name, rate in rates.items() if rate.failing)
    if not redis_ok:
        failing = ["redis", *failing]
    if len(failing) >= 2:
        return Mode.EMERGENCY, failing
    if failing:
        return Mode.DEGRADED, failing
    return Mode.NORMAL, []


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def record(component: str, *, ok: bool) -> None:
    """Report one outcome of ``component`` (e.g. ``ai``, ``notify:twilio_whatsapp``). Never raises."""
    now = time.time()
    key = f"{_PREFIX}{component}:{'ok' if ok else 'fail'}"
    try:
        pipe = _client().pipeline()
        pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
        pipe.zremrangebyscore(key, 0, now - WINDOW_S)
        pipe.expire(key, WINDOW_S * 2)
        pipe.execute()
    except redis.RedisError:
        _mark_redis_down()


def _rates(client: redis.Redis) -> dict[str, Rate]:
    now = time.time()
    counts: dict[str, dict[str, int]] = {}
    for raw in client.scan_iter(match=f"{_PREFIX}*", count=500):
        key = raw.decode()
        component, outcome = key[len(_PREFIX):].rsplit(":", 1)
        counts.setdefault(component, {"ok": 0, "fail": 0})[outcome] = client.zcount(key, now - WINDOW_S, now)
    return {name: Rate(c["fail"], c["ok"] + c["fail"]) for name, c in counts.items()}


_local = threading.local()
_redis_down_until = 0.0


def _mark_redis_down() -> None:
    global _redis_down_until
    _redis_down_until = time.monotonic() + _CACHE_S


def _redis_is_back(mode: Mode) -> None:
    global _redis_down_until
    _redis_down_until = 0.0
    _local.cached = (mode, time.monotonic())


def current_mode() -> Mode:
    """The shared mode (cached for a few seconds per thread); DEGRADED when Redis cannot be read."""
    if time.monotonic() < _redis_down_until:
        return Mode.DEGRADED
    cached = getattr(_local, "cached", None)
    if cached and time.monotonic() - cached[1] < _CACHE_S:
        return cached[0]
    try:
        raw = _client().get(MODE_KEY)
        mode = Mode(raw.decode()) if raw else Mode.NORMAL
    except (redis.RedisError, ValueError):
        _mark_redis_down()
        return Mode.DEGRADED
    _local.cached = (mode, time.monotonic())
    return mode


def suppressed(what: str) -> bool:
    """Whether ``what`` (e.g. ``ai_diagnosis``, ``voice``) is switched off in the current mode."""
    return what in SUPPRESSED[current_mode()]


def mode_evaluate() -> Mode:
    """Compute the mode from the window, publish it, and record a change in the platform ledger."""
    try:
        client = _client()
        client.ping()
        rates, redis_ok = _rates(client), True
        previous_raw = client.get(MODE_KEY)
        previous = Mode(previous_raw.decode()) if previous_raw else Mode.NORMAL
    except redis.RedisError:
        client, rates, redis_ok, previous = None, {}, False, getattr(_local, "last_evaluated", Mode.NORMAL)
    mode, failing = mode_from(rates, redis_ok=redis_ok)
    _local.last_evaluated = mode
    if client is not None:
        try:
            client.set(MODE_KEY, mode.value)
            _redis_is_back(mode)
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
