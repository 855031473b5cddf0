"""The local demo: the demo tenant is on Enterprise (every feature), and re-running changes nothing."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from billing.selectors import entitlements
from ledger.models import LedgerEntry
from tenants.models import Tenant

pytestmark = pytest.mark.django_db


def test_demo_setup_puts_the_demo_tenant_on_enterprise_and_is_idempotent():
    first = StringIO()
    call_command("demo_setup", stdout=first)
    demo = Tenant.objects.get(schema_name="demo")
    granted = entitlements(tenant=demo)
    assert granted.tier == "enterprise" and granted.allows("custom_policy") and granted.max_services is None
    assert "admin / alertengine-demo" in first.getvalue()
    changes = LedgerEntry.objects.filter(kind="billing.tier_changed").count()
    call_command("demo_setup", stdout=StringIO())
    assert Tenant.objects.filter(schema_name="demo").count() == 1
    assert LedgerEntry.objects.filter(kind="billing.tier_changed").count() == changes
