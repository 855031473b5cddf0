"""Billing staff: see plans, usage and projected invoices, change tiers; never tenant data."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client

from billing.models import Plan, Subscription
from billing.services import incident_quota_consume
from ledger.models import LedgerEntry
from tests.tenants.builders import set_tier

pytestmark = pytest.mark.django_db

BASE = settings.ALERTENGINE_BASE_DOMAIN
PASSWORD = "billing-password-123"
TENANT_ONLY_APPS = {app.split(".")[-1] for app in settings.TENANT_APPS} - {
    app.split(".")[-1] for app in settings.SHARED_APPS
}


@pytest.fixture
def billing_staff() -> Client:
    user = get_user_model().objects.create_user("bella", password=PASSWORD, is_staff=True)
    user.groups.add(Group.objects.get(name="Billing staff"))
    client = Client()
    assert client.post("/admin/login/", {"username": "bella", "password": PASSWORD}, HTTP_HOST=BASE).status_code == 302
    return client


def test_billing_staff_list_tenants_with_plan_period_usage_and_projected_invoice(billing_staff, tenant):
    set_tier(tenant, "team")
    for _ in range(53):
        incident_quota_consume(tenant=tenant)
    page = billing_staff.get("/admin/billing/subscription/", HTTP_HOST=BASE).content.decode()
    assert "Acme Payments" in page and "Team" in page
    assert "53 / 50" in page
    assert "$299.30 ($299.00 + $0.30 overage)" in page


def test_billing_staff_change_a_tier_with_a_reason_and_both_ledgers_record_it(billing_staff, tenant):
    subscription = Subscription.objects.get(tenant=tenant)
    compliance = Plan.objects.get(slug="compliance")
    url = f"/admin/billing/subscription/{subscription.pk}/change/"
    missing_reason = billing_staff.post(url, {"plan": compliance.pk, "custom_price_cents": ""}, HTTP_HOST=BASE)
    assert missing_reason.status_code == 200 and "This field is required" in missing_reason.content.decode()
    done = billing_staff.post(url, {"plan": compliance.pk, "custom_price_cents": "", "reason": "SOC 2 audit"},
                              HTTP_HOST=BASE)  # fmt: skip
    assert done.status_code == 302
    entry = LedgerEntry.objects.filter(kind="billing.tier_changed").latest("sequence")
    assert (entry.actor_type, entry.actor_id, entry.stage_from, entry.stage_to, entry.reason) == (
        "billing", "user:bella", "free", "compliance", "SOC 2 audit"
    )  # fmt: skip


def test_the_dashboard_shows_mrr_by_tier_near_quota_and_projected_invoices(billing_staff, tenant):
    set_tier(tenant, "starter")
    for _ in range(5):
        incident_quota_consume(tenant=tenant)
    response = billing_staff.get("/admin/billing/subscription/dashboard/", HTTP_HOST=BASE)
    assert response.status_code == 200
    page = response.content.decode()
    assert "<svg" in page and "MRR by tier" in page
    assert "Starter" in page and "$19.00" in page
    assert "Acme Payments" in page and "100%" in page
    assert "http://" not in page.split("<svg", 1)[1].split("</svg>", 1)[0].replace("http://www.w3.org", "")


def test_billing_staff_cannot_open_any_tenant_model_nor_change_tenants(billing_staff, tenant):
    index = billing_staff.get("/admin/", HTTP_HOST=BASE).content.decode()
    assert "Subscriptions" in index and "Configuration" not in index
    tenant_models = [model for model in admin.site._registry if model._meta.app_label in TENANT_ONLY_APPS]
    assert tenant_models
    for model in tenant_models:
        url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
        assert billing_staff.get(url, HTTP_HOST=BASE).status_code in (403, 404), url
    assert billing_staff.get(f"/admin/tenants/tenant/{tenant.pk}/change/", HTTP_HOST=BASE).status_code == 200
    suspend = billing_staff.post("/admin/tenants/tenant/", {"action": "suspend", "_selected_action": [tenant.pk],
                                                            "apply": "1", "reason": "x"}, HTTP_HOST=BASE)  # fmt: skip
    assert suspend.status_code == 200 and tenant.__class__.objects.get(pk=tenant.pk).status == "active"


def test_operators_on_the_public_host_get_403_not_500_for_configuration_models(client):
    get_user_model().objects.create_superuser("root", password=PASSWORD)
    client.post("/admin/login/", {"username": "root", "password": PASSWORD}, HTTP_HOST=BASE)
    for model in admin.site._registry:
        if model._meta.app_label == "configuration":
            url = f"/admin/configuration/{model._meta.model_name}/"
            assert client.get(url, HTTP_HOST=BASE).status_code == 403, url
