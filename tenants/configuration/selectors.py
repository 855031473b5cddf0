"""Reads of a tenant's configuration for the pipeline: only what the plan allows is ever used."""

from __future__ import annotations

from django.db import connection

from billing.selectors import entitlements
from tenants.configuration.models import ChannelSetting, Contact, Service


def services_to_poll() -> list[Service]:
    """Enabled services of the current tenant, capped at the plan's limit (oldest first).

    A tenant that downgrades keeps its rows, but only as many services as the plan allows are polled.
    """
    plan = entitlements(tenant=connection.tenant)
    queryset = Service.objects.filter(enabled=True).order_by("created_at", "pk")
    if plan.max_services is not None:
        queryset = queryset[: plan.max_services]
    return list(queryset)


def channels_usable() -> list[ChannelSetting]:
    """Enabled channels of the current tenant that its plan includes, in fallback order."""
    plan = entitlements(tenant=connection.tenant)
    return [
        channel
        for channel in ChannelSetting.objects.filter(enabled=True).order_by("fallback_order", "kind")
        if plan.allows_channel(channel.kind)
    ]


def contacts_in_escalation_order() -> list[Contact]:
    """Active on-call contacts, first to be reached first."""
    return list(Contact.objects.filter(active=True).order_by("escalation_order", "pk"))
