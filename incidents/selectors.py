"""Reads of the incident pipeline."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Min
from django.utils import timezone

from billing.selectors import entitlements
from incidents.models import Incident, ServiceHealth
from incidents.state import Stage
from tenants.configuration.models import Service


def services_to_poll(*, tenant) -> list[Service]:
    """The enabled services this tenant's plan pays for, oldest first."""
    plan = entitlements(tenant=tenant)
    queryset = Service.objects.filter(enabled=True).order_by("pk")
    if plan.max_services is not None:
        queryset = queryset[: plan.max_services]
    return list(queryset)


def poll_lag_s() -> float | None:
    """Seconds since the least recently polled enabled service was polled (None: nothing polled yet)."""
    oldest = (
        ServiceHealth.objects.filter(service__enabled=True, last_polled_at__isnull=False)
        .aggregate(oldest=Min("last_polled_at"))["oldest"]
    )
    return (timezone.now() - oldest).total_seconds() if oldest else None


def incidents_awaiting_diagnosis(*, older_than_s: float) -> list:
    """Ids of incidents still DETECTED after ``older_than_s`` seconds (their diagnosis task was lost)."""
    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    return list(Incident.objects.filter(stage=Stage.DETECTED, updated_at__lt=cutoff).values_list("pk", flat=True))
