"""Degraded mode, the shared part: outcomes in, the current mode out (no ledger, no models).

Components report outcomes (`record("ai", ok=False)`, `record("notify:telegram", ok=True)`);
``incidents.degraded.mode_evaluate`` (a beat task) turns the failure rates over a sliding window
into the mode, publishes it in Redis for every worker to read and records each change in the
platform ledger. When Redis itself is unreachable every process falls back to DEGRADED on its
own: that is the one fact it can observe without Redis. This module lives in ``saas`` because
every app reports to it and reads it (notifications may not import incidents).

What each mode suppresses (detection, ledger writes and approvals never stop):

| mode | suppressed |
|---|---|
| NORMAL | nothing |
| DEGRADED | AI diagnosis (the policy's explanation is used), re-diagnoses, Slack and generic-webhook notices |
| EMERGENCY | the above, plus the Diagnostic Council, voice calls and fallback channels beyond the first |
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from enum import StrEnum

import redis
from django.conf import settings

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


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def record(component: str, *, ok: bool) -> None:
    """Report one outcome of ``component`` (e.g. ``ai``, ``notify:twilio_whatsapp``). Never raises."""
    now = time.time()
    key = f"{_PREFIX}{component}:{'ok' if ok else 'fail'}"
    try:
        pipe = redis_client().pipeline()
        pipe.zadd(key, {f"{now:.6f}:{uuid.uuid4().hex[:8]}": now})
        pipe.zremrangebyscore(key, 0, now - WINDOW_S)
        pipe.expire(key, WINDOW_S * 2)
        pipe.execute()
    except redis.RedisError:
        _mark_redis_down()


def failure_rates(client: redis.Redis) -> dict[str, Rate]:
    """Failures and totals per component over the window."""
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


def published_mode(client: redis.Redis) -> Mode:
    raw = client.get(MODE_KEY)
    return Mode(raw.decode()) if raw else Mode.NORMAL


def publish(client: redis.Redis, mode: Mode) -> None:
    """Make ``mode`` every worker's mode; Redis answered, so this process stops assuming it is down."""
    global _redis_down_until
    client.set(MODE_KEY, mode.value)
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
        raw = redis_client().get(MODE_KEY)
        mode = Mode(raw.decode()) if raw else Mode.NORMAL
    except (redis.RedisError, ValueError):
        _mark_redis_down()
        return Mode.DEGRADED
    _local.cached = (mode, time.monotonic())
    return mode


def suppressed(what: str) -> bool:
    """Whether ``what`` (e.g. ``ai_diagnosis``, ``voice``) is switched off in the current mode."""
    return what in SUPPRESSED[current_mode()]
