"""Liveness and readiness of the control plane: ``/healthz`` and ``/readyz`` on every host."""

from __future__ import annotations

import time

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache

#: Redis hash written by the heartbeat task: tenant schema -> seconds since its services were last polled.
POLL_LAG_KEY = "alertengine:poll-lag"


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and serving requests."""
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """PostgreSQL and Redis answer; also reports the worst poll lag the heartbeat has seen."""
    checks: dict[str, object] = {}
    ready = True
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready; the class name is enough to act on
        checks["database"] = f"error: {type(exc).__name__}"
        ready = False
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        checks["redis"] = "ok"
        lags = [float(v) for v in client.hvals(POLL_LAG_KEY)]
        checks["poll_lag_max_s"] = round(max(lags), 1) if lags else None
    except redis.RedisError as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
        ready = False
    checks["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)
