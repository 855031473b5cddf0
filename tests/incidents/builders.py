"""Small builders for incident tests."""

from __future__ import annotations

import uuid

from django.db import connection

from billing.selectors import entitlements
from billing.services import subscription_change_tier
from incidents.observation import Observation
from tenants.configuration.models import Service
from tenants.models import Tenant


def on_plan(tier: str) -> None:
    """Put the connection's tenant on ``tier``."""
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    if entitlements(tenant=tenant).tier != tier:
        subscription_change_tier(tenant=tenant, plan_slug=tier, actor_id="tests", reason="test set-up")


def service(name: str = "Checkout API", url: str = "http://127.0.0.1:9/health/alerts") -> Service:
    return Service.objects.create(name=f"{name} {uuid.uuid4().hex[:6]}", health_url=url, enabled=True)


def healthy() -> Observation:
    return Observation(kind="ok", status="ok", score=96.0, error_rate=0.0, p95_ms=110.0, sample_size=200)


def spike() -> Observation:
    """The product description's own example."""
    return Observation(kind="ok", status="critical", score=23.0, error_rate=0.19, p95_ms=2847.3, sample_size=187)


def mild() -> Observation:
    """Degraded, but not enough to warrant a recovery action."""
    return Observation(kind="ok", status="warning", score=62.0, error_rate=0.02, p95_ms=900.0, sample_size=150)
