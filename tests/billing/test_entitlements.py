"""The plan catalogue is the price list of PRODUCT.md, and entitlements follow the tenant's plan."""

from __future__ import annotations

import pytest
from django.db import connection

from billing.models import Plan
from billing.selectors import entitlements, tenants_to_poll
from tests.tenants.builders import set_tier

pytestmark = pytest.mark.django_db

ALL_CHANNELS = {"whatsapp_twilio", "whatsapp_sentdm", "telegram", "slack", "webhook", "voice"}
WHATSAPP = {"whatsapp_twilio", "whatsapp_sentdm"}


def test_the_catalogue_has_the_seven_tiers_with_prices_in_cents_and_quotas():
    rows = list(
        Plan.objects.order_by("rank").values_list(
            "slug", "price_cents", "max_services", "incidents_per_period", "overage_cents_per_incident"
        )
    )
    assert rows == [
        ("free", 0, 0, 0, None),
        ("starter", 1900, 1, 5, None),
        ("growth", 9900, 1, 10, None),
        ("team", 29900, 3, 50, 10),
        ("compliance", 79900, 10, 200, 5),
        ("platform", 150000, 20, 1000, 2),
        ("enterprise", None, None, None, None),
    ]


@pytest.mark.parametrize(
    ("tier", "channels", "features"),
    [
        ("free", set(), set()),
        ("starter", {"telegram", "webhook"}, set()),
        ("growth", WHATSAPP | {"webhook"}, {"ai_diagnosis", "commit_correlation"}),
        ("team", WHATSAPP | {"telegram", "webhook"}, {"ai_diagnosis", "commit_correlation", "council"}),
        (
            "compliance",
            ALL_CHANNELS,
            {"ai_diagnosis", "commit_correlation", "council", "dlq", "voice_escalation", "audit_export"},
        ),
        (
            "platform",
            ALL_CHANNELS,
            {
                "ai_diagnosis",
                "commit_correlation",
                "council",
                "dlq",
                "voice_escalation",
                "audit_export",
                "custom_policy",
            },
        ),
        (
            "enterprise",
            ALL_CHANNELS,
            {
                "ai_diagnosis",
                "commit_correlation",
                "council",
                "dlq",
                "voice_escalation",
                "audit_export",
                "custom_policy",
            },
        ),
    ],
)
def test_entitlements_follow_the_tier(tenant, tier, channels, features):
    set_tier(tenant, tier)
    granted = entitlements(tenant=tenant)
    assert granted.tier == tier
    assert granted.channels == channels
    assert granted.features == features
    assert all(granted.allows(feature) for feature in features)
    assert not granted.allows("not_a_feature")


def test_a_new_tenant_is_on_free_and_is_not_polled(tenant):
    granted = entitlements(tenant=tenant)
    assert (granted.tier, granted.tier_name, granted.max_services, granted.polls) == ("free", "Free", 0, False)
    assert tenant not in tenants_to_poll()


def test_enterprise_is_unlimited_and_polled(tenant):
    set_tier(tenant, "enterprise")
    granted = entitlements(tenant=tenant)
    assert granted.max_services is None and granted.incidents_per_period is None and granted.polls
    assert tenant in tenants_to_poll()


def test_entitlements_resolve_inside_the_tenant_schema_too(in_tenant):
    set_tier(in_tenant, "growth")
    connection.set_tenant(in_tenant)
    assert entitlements(tenant=connection.tenant).tier == "growth"
