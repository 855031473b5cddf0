"""Small builders shared by the tenant and billing tests."""

from __future__ import annotations

from django.db import connection
from django_tenants.utils import schema_context

from billing.services import subscription_change_tier


def set_tier(tenant, slug: str, *, custom_price_cents: int | None = None) -> None:
    """Move ``tenant`` to ``slug`` through the real service (a no-op when already there)."""
    from billing.models import Subscription

    with schema_context("public"):
        current = Subscription.objects.get(tenant=tenant)
        if current.plan.slug == slug and current.custom_price_cents == custom_price_cents:
            return
        subscription_change_tier(
            tenant=tenant,
            plan_slug=slug,
            actor_id="test",
            reason="test setup",
            custom_price_cents=custom_price_cents,
        )


def raw_column(table: str, column: str, pk: int) -> str:
    """A column as stored, read with plain SQL in the current schema (no model field conversion)."""
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT "{column}" FROM "{table}" WHERE id = %s', [pk])  # noqa: S608 - test-only names
        return cursor.fetchone()[0]
