"""A per-(tenant, provider) circuit breaker in Redis.

``FAILURE_THRESHOLD`` failures within ``WINDOW_S`` open the circuit for ``OPEN_S``: the provider is
not called and the next channel in the tenant's fallback order is tried instead. Breaker state is
only coordination state (DESIGN §5): without Redis the circuit counts as closed and every
delivery is attempted.
"""

from __future__ import annotations

import logging

import redis
from django.conf import settings

logger = logging.getLogger(__name__)

FAILURE_THRESHOLD = 5
WINDOW_S = 60
OPEN_S = 60


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=0.5, socket_connect_timeout=0.5)


def _keys(schema: str, provider: str) -> tuple[str, str]:
    return f"breaker:{schema}:{provider}:failures", f"breaker:{schema}:{provider}:open"


def breaker_open(*, schema: str, provider: str) -> bool:
    """Whether calls to ``provider`` for this tenant are suspended."""
    try:
        return bool(_client().exists(_keys(schema, provider)[1]))
    except redis.RedisError:
        return False


def breaker_record(*, schema: str, provider: str, ok: bool) -> None:
    """Count a success (closes the circuit) or a transient failure (may open it)."""
    failures, opened = _keys(schema, provider)
    try:
        client = _client()
        if ok:
            client.delete(failures, opened)
            return
        count = client.incr(failures)
        if int(count) == 1:  # the window starts with the first failure (EXPIRE NX needs Redis 7)
            client.expire(failures, WINDOW_S)
        if int(count) >= FAILURE_THRESHOLD:
            client.set(opened, "1", ex=OPEN_S)
            logger.warning("circuit opened for provider %s of tenant %s after %s failures", provider, schema, count)
    except redis.RedisError:
        logger.warning("circuit breaker unavailable (Redis error); provider %s not tracked", provider)
