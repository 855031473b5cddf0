"""Celery entry points of the incident pipeline: thin, idempotent, one service call each."""

from __future__ import annotations

import logging
import random
import uuid
from concurrent.futures import ThreadPoolExecutor

import redis
from django.conf import settings
from django.db import connection
from django_tenants.utils import tenant_context

from billing.selectors import tenants_to_poll
from incidents import degraded, selectors, services
from incidents.polling import fetch_observation
from saas.celery import app
from saas.health import POLL_LAG_KEY
from saas.outbound import outbound_session

logger = logging.getLogger(__name__)
MAX_CONCURRENT_POLLS = 16
STUCK_DETECTED_S = 20.0


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)


@app.task(name="incidents.tasks.poll_tick", public=True, ignore_result=True)
def poll_tick() -> int:
    """Beat, every tick: fan out one poll task per pollable tenant, with jitter."""
    interval = settings.LOOP_INTERVAL_S
    sent = 0
    for tenant in tenants_to_poll():
        with tenant_context(tenant):
            poll_tenant.apply_async(countdown=random.uniform(0, interval / 5), expires=interval * 2)  # noqa: S311
        sent += 1
    return sent


@app.task(name="incidents.tasks.poll_tenant", ignore_result=True)
def poll_tenant() -> int:
    """Poll every enabled service of this tenant concurrently; skip any still being polled."""
    tenant = connection.tenant
    candidates = selectors.services_to_poll(tenant=tenant)
    locks = _ServiceLocks(tenant.schema_name, ttl_s=max(settings.LOOP_INTERVAL_S * 3, 10))
    services_now = [s for s in candidates if locks.acquire(s.pk)]
    if not services_now:
        return 0
    try:
        session = outbound_session()
        with ThreadPoolExecutor(max_workers=min(MAX_CONCURRENT_POLLS, len(services_now))) as pool:
            observations = list(pool.map(
                lambda s: fetch_observation(session, url=s.health_url, token=s.poll_token or ""), services_now))
        services.services_observe(observed=list(zip(services_now, observations, strict=True)))
    finally:
        locks.release_all()
    # A diagnosis task lost with the broker (Redis is allowed to lose it) is sent again.
    for incident_id in selectors.incidents_awaiting_diagnosis(older_than_s=STUCK_DETECTED_S):
        incident_diagnose.delay(str(incident_id))
    return len(services_now)


class _ServiceLocks:
    """Per-service poll locks in Redis, so a slow service skips a tick instead of piling up.

    Each lock holds a token of this task; release deletes only locks still holding it, so a poll
    that outlived its lock never frees the next poll's. Without Redis the poll goes ahead
    unlocked: detection must not stop because Redis did.
    """

    _RELEASE = "for i, key in ipairs(KEYS) do if redis.call('get', key) == ARGV[1] then redis.call('del', key) end end"

    def __init__(self, schema: str, *, ttl_s: float) -> None:
        self.schema, self.ttl_ms, self.held = schema, int(ttl_s * 1000), []
        self.client = _redis()
        self.token = uuid.uuid4().hex
        self.available = True

    def acquire(self, service_id: int) -> bool:
        if not self.available:
            return True
        key = f"poll-lock:{self.schema}:{service_id}"
        try:
            if self.client.set(key, self.token, nx=True, px=self.ttl_ms):
                self.held.append(key)
                return True
            return False
        except redis.RedisError:
            logger.warning("poll locks unavailable (Redis error); polling without them")
            self.available = False
            return True

    def release_all(self) -> None:
        if self.held and self.available:
            try:
                self.client.eval(self._RELEASE, len(self.held), *self.held, self.token)
            except redis.RedisError:
                pass  # the locks expire on their own


@app.task(name="incidents.tasks.heartbeat", public=True, ignore_result=True)
def heartbeat() -> dict[str, float]:
    """Record, per pollable tenant, how long ago its services were last polled (``/readyz`` reports it)."""
    lags: dict[str, float] = {}
    for tenant in tenants_to_poll():
        with tenant_context(tenant):
            lag = selectors.poll_lag_s()
        if lag is not None:
            lags[tenant.schema_name] = lag
            if lag > settings.LOOP_INTERVAL_S * 4:
                logger.warning("polling of tenant %s is %.0f s behind", tenant.schema_name, lag)
    try:
        client = _redis()
        pipe = client.pipeline()
        pipe.delete(POLL_LAG_KEY)
        if lags:
            pipe.hset(POLL_LAG_KEY, mapping=lags)
        pipe.execute()
    except redis.RedisError:
        logger.warning("could not record poll lag (Redis error)")
    return lags


@app.task(name="incidents.tasks.mode_evaluate", public=True, ignore_result=True)
def mode_evaluate() -> str:
    """Beat: re-evaluate degraded mode from the recent failure rates."""
    return degraded.mode_evaluate().value


@app.task(name="incidents.tasks.incident_diagnose", ignore_result=True, acks_late=True)
def incident_diagnose(incident_id: str) -> None:
    """Explain a DETECTED incident and move it to PROPOSED (idempotent: later stages are left alone)."""
    services.incident_propose(incident_id=incident_id)


@app.task(name="incidents.tasks.diagnosis_refresh_tick", public=True, ignore_result=True)
def diagnosis_refresh_tick() -> int:
    """Beat: one re-diagnosis sweep per tenant whose plan includes AI diagnosis."""
    from billing.selectors import entitlements

    sent = 0
    for tenant in tenants_to_poll():
        if not entitlements(tenant=tenant).allows("ai_diagnosis"):
            continue
        with tenant_context(tenant):
            diagnosis_refresh_tenant.apply_async(expires=settings.DIAGNOSIS_REFRESH_S)
        sent += 1
    return sent


@app.task(name="incidents.tasks.diagnosis_refresh_tenant", ignore_result=True)
def diagnosis_refresh_tenant() -> int:
    """Re-diagnose this tenant's active incidents that changed materially (capped per incident)."""
    from incidents.diagnosis.service import diagnosis_refresh, incidents_to_refresh

    return sum(diagnosis_refresh(incident_id=incident_id) for incident_id in incidents_to_refresh())


@app.task(name="incidents.tasks.commit_stats_fetch", ignore_result=True)
def commit_stats_fetch(commit_ids: list[int]) -> int:
    """Fetch additions/deletions of newly pushed commits from the GitHub API (best effort)."""
    from incidents.commits import commit_stats_fetch as fetch

    return fetch(commit_ids=commit_ids)
