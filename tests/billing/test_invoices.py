"""Closing a period finalises a read-only invoice (base + overage) and resets the quota."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from billing.models import Invoice, Subscription, UsagePeriod
from billing.services import billing_periods_close, incident_quota_consume
from ledger.models import LedgerEntry
from tests.tenants.builders import set_tier

pytestmark = pytest.mark.django_db

BASE = settings.ALERTENGINE_BASE_DOMAIN


def test_a_closed_team_period_is_invoiced_with_its_overage_once(tenant):
    set_tier(tenant, "team")
    started = Subscription.objects.get(tenant=tenant).started_at
    for _ in range(53):
        incident_quota_consume(tenant=tenant, at=started + timedelta(days=2))
    closing_at = started + timedelta(days=33)
    invoices = billing_periods_close(at=closing_at)
    mine = [invoice for invoice in invoices if invoice.tenant_id == tenant.pk]
    assert len(mine) == 1
    invoice = mine[0]
    assert (invoice.plan_slug, invoice.base_cents, invoice.included_incidents, invoice.incident_count) == (
        "team", 29900, 50, 53
    )  # fmt: skip
    assert (invoice.overage_count, invoice.overage_cents, invoice.total_cents) == (3, 30, 29930)
    entry = LedgerEntry.objects.filter(kind="billing.invoice_finalised").latest("sequence")
    assert entry.body["total_cents"] == 29930 and entry.body["tenant"] == tenant.schema_name
    assert billing_periods_close(at=closing_at) == []
    assert Invoice.objects.filter(tenant=tenant).count() == 1
    assert UsagePeriod.objects.filter(tenant=tenant, closed_at__isnull=True).get().incident_count == 0


def test_starter_never_bills_past_its_quota_and_free_gets_no_invoice(tenant, make_tenant):
    set_tier(tenant, "starter")
    started = Subscription.objects.get(tenant=tenant).started_at
    for _ in range(9):
        incident_quota_consume(tenant=tenant, at=started + timedelta(days=1))
    invoice = next(i for i in billing_periods_close(at=started + timedelta(days=32)) if i.tenant_id == tenant.pk)
    assert (invoice.incident_count, invoice.overage_count, invoice.total_cents) == (9, 0, 1900)


def test_missed_closes_are_caught_up_period_by_period(tenant):
    set_tier(tenant, "growth")
    started = Subscription.objects.get(tenant=tenant).started_at
    invoices = [i for i in billing_periods_close(at=started + timedelta(days=95)) if i.tenant_id == tenant.pk]
    assert [i.total_cents for i in invoices] == [9900, 9900, 9900]
    assert len({i.period_start for i in invoices}) == 3


def test_an_invoice_is_read_only_in_the_admin(client, tenant):
    set_tier(tenant, "growth")
    started = Subscription.objects.get(tenant=tenant).started_at
    invoice = next(i for i in billing_periods_close(at=started + timedelta(days=31)) if i.tenant_id == tenant.pk)
    get_user_model().objects.create_superuser("root", password="root-password-123")
    client.post("/admin/login/", {"username": "root", "password": "root-password-123"}, HTTP_HOST=BASE)
    page = client.get(f"/admin/billing/invoice/{invoice.pk}/change/", HTTP_HOST=BASE)
    assert page.status_code == 200 and "$99.00" in page.content.decode() and b'name="_save"' not in page.content
    edit = client.post(f"/admin/billing/invoice/{invoice.pk}/change/", {"total_cents": 1}, HTTP_HOST=BASE)
    assert edit.status_code == 403
    assert Invoice.objects.get(pk=invoice.pk).total_cents == 9900
