"""Operators create and suspend tenants from the public admin; a suspended tenant is shut out."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django_tenants.utils import schema_context

from billing.selectors import tenants_to_poll
from ledger.models import LedgerEntry
from tenants.models import Tenant
from tests.tenants.builders import set_tier

pytestmark = pytest.mark.django_db

BASE = settings.ALERTENGINE_BASE_DOMAIN
PASSWORD = "operator-password-123"


@pytest.fixture
def operator() -> Client:
    get_user_model().objects.create_superuser("operator", password=PASSWORD)
    client = Client()
    assert (
        client.post("/admin/login/", {"username": "operator", "password": PASSWORD}, HTTP_HOST=BASE).status_code == 302
    )
    return client


def test_an_operator_suspends_a_tenant_with_a_reason_and_it_is_shut_out(operator, tenant):
    set_tier(tenant, "starter")
    assert tenant in tenants_to_poll()
    with schema_context(tenant.schema_name):
        get_user_model().objects.create_user("alice", password=PASSWORD, is_staff=True)
    form = {"action": "suspend", "_selected_action": [tenant.pk]}
    confirm = operator.post("/admin/tenants/tenant/", form, HTTP_HOST=BASE)
    assert confirm.status_code == 200 and b"Why are these tenants being suspended" in confirm.content
    done = operator.post("/admin/tenants/tenant/", form | {"apply": "1", "reason": "unpaid invoices"}, HTTP_HOST=BASE)
    assert done.status_code == 302
    assert Tenant.objects.get(pk=tenant.pk).status == "suspended"
    assert tenant not in tenants_to_poll()

    login = Client().post("/admin/login/", {"username": "alice", "password": PASSWORD}, HTTP_HOST=f"acme.{BASE}")
    assert login.status_code == 403 and b"This organisation is suspended" in login.content
    api = Client().get("/api/v1/services/", HTTP_HOST=f"acme.{BASE}")
    assert api.status_code == 403 and "suspended" in api.json()["detail"]
    public_entry = LedgerEntry.objects.filter(kind="tenant.suspended").latest("sequence")
    assert (public_entry.actor_id, public_entry.reason) == ("operator:operator", "unpaid invoices")
    with schema_context(tenant.schema_name):
        assert LedgerEntry.objects.filter(kind="tenant.suspended", reason="unpaid invoices").exists()

    operator.post("/admin/tenants/tenant/", {"action": "reactivate", "_selected_action": [tenant.pk], "apply": "1",
                                             "reason": "paid"}, HTTP_HOST=BASE)  # fmt: skip
    assert Tenant.objects.get(pk=tenant.pk).status == "active" and tenant in tenants_to_poll()
    assert Client().get("/admin/login/", HTTP_HOST=f"acme.{BASE}").status_code == 200


def test_an_operator_creates_a_tenant_from_the_public_admin(operator):
    response = operator.post("/admin/tenants/tenant/add/", {"name": "Zim Fintech", "subdomain": "zim-fintech"},
                             HTTP_HOST=BASE)  # fmt: skip
    assert response.status_code == 302
    created = Tenant.objects.get(schema_name="zim_fintech")
    assert created.subscription.plan.slug == "free" and created.domains.get().domain == f"zim-fintech.{BASE}"
    taken = operator.post("/admin/tenants/tenant/add/", {"name": "Again", "subdomain": "zim-fintech"}, HTTP_HOST=BASE)
    assert taken.status_code == 200 and "is taken" in taken.content.decode()


def test_the_tenant_list_is_not_reachable_from_a_tenant_host(tenant):
    with schema_context(tenant.schema_name):
        get_user_model().objects.create_superuser("tenant-root", password=PASSWORD)
    client = Client()
    client.post("/admin/login/", {"username": "tenant-root", "password": PASSWORD}, HTTP_HOST=f"acme.{BASE}")
    assert client.get("/admin/", HTTP_HOST=f"acme.{BASE}").status_code == 200
    for path in ("/admin/tenants/tenant/", "/admin/billing/subscription/", "/admin/billing/invoice/"):
        assert client.get(path, HTTP_HOST=f"acme.{BASE}").status_code == 403, path
