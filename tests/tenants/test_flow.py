"""The journey of the issue: sign up, configure, billing staff upgrade, the new limits apply."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from billing.models import Subscription
from ledger.models import LedgerEntry
from tenants.configuration.models import ChannelSetting, Contact, RecoveryAction, Service
from tenants.models import Domain, Tenant

pytestmark = pytest.mark.django_db

BASE = settings.ALERTENGINE_BASE_DOMAIN
PASSWORD = "correct-horse-battery-staple"


def _signup(client: Client, subdomain: str, **overrides):
    data = {
        "organisation": "Mukuru Pay",
        "subdomain": subdomain,
        "email": "Founder@Example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    } | overrides
    return client.post("/signup/", data, HTTP_HOST=BASE)


def _errors(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.mark.parametrize(
    ("subdomain", "message"),
    [
        ("www", "is reserved"),
        ("admin", "is reserved"),
        ("public", "is reserved"),
        ("Bad_Name", "lowercase letters, digits and hyphens"),
        ("-acme", "lowercase letters, digits and hyphens"),
        ("ab", "lowercase letters, digits and hyphens"),
        ("acme", "is taken"),
    ],
)
def test_sign_up_refuses_bad_or_reserved_subdomains_with_a_form_error(client, tenant, subdomain, message):
    response = _signup(client, subdomain)
    assert response.status_code == 400
    assert message in _errors(response)
    assert not Tenant.objects.filter(name="Mukuru Pay").exists()


def test_sign_up_refuses_a_weak_or_mismatched_password(client):
    weak = _signup(client, "weakpw", password1="password", password2="password")
    assert weak.status_code == 400 and "This password is too common" in _errors(weak)
    mismatch = _signup(client, "mismatch", password2="something-else-entirely")
    assert mismatch.status_code == 400 and "The two passwords differ" in _errors(mismatch)


def test_sign_up_configure_upgrade_and_the_new_entitlements_apply(client):
    # Sign up on the public host: schema, domain, first admin, Free subscription.
    response = _signup(client, "mukuru-pay")
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.netloc.startswith("mukuru-pay.") and location.path == "/welcome/"
    tenant = Tenant.objects.get(schema_name="mukuru_pay")
    assert Domain.objects.get(tenant=tenant).domain == f"mukuru-pay.{BASE}"
    assert Subscription.objects.get(tenant=tenant).plan.slug == "free"
    with schema_context("mukuru_pay"):
        admin_user = get_user_model().objects.get()
        assert (admin_user.username, admin_user.is_superuser) == ("founder@example.com", True)

    # The one-time hand-off lands the new admin in their tenant admin.
    host = f"mukuru-pay.{BASE}"
    browser = Client()
    welcome = browser.get(f"/welcome/?{location.query}", HTTP_HOST=host)
    assert welcome.status_code == 200 and b"Continue to my admin" in welcome.content
    token = parse_qs(location.query)["token"][0]
    assert browser.post("/welcome/", {"token": token}, HTTP_HOST=host)["Location"] == "/admin/"
    assert browser.get("/admin/", HTTP_HOST=host).status_code == 200
    replay = Client().post("/welcome/", {"token": token}, HTTP_HOST=host)
    assert replay.status_code == 400 and b"expired or was used" in replay.content

    # On Free, a polled service is refused with a message naming the plan.
    service_form = {"name": "payments-api", "health_url": "https://pay.example.com/health/alerts", "enabled": "on"}
    refused = browser.post("/admin/configuration/service/add/", service_form, HTTP_HOST=host)
    assert refused.status_code == 200 and "The Free plan does not include polled services" in _errors(refused)

    # Billing staff upgrade the tenant to Growth from the public admin, with a reason.
    connection.set_schema_to_public()
    staff = get_user_model().objects.create_user("billing-bob", password=PASSWORD, is_staff=True)
    staff.groups.add(Group.objects.get(name="Billing staff"))
    billing = Client()
    billing.post("/admin/login/", {"username": "billing-bob", "password": PASSWORD}, HTTP_HOST=BASE)
    subscription = Subscription.objects.get(tenant=tenant)
    growth_id = subscription.plan.__class__.objects.get(slug="growth").pk
    upgraded = billing.post(
        f"/admin/billing/subscription/{subscription.pk}/change/",
        {"plan": growth_id, "custom_price_cents": "", "reason": "signed the Growth order form"},
        HTTP_HOST=BASE,
    )
    assert upgraded.status_code == 302
    assert Subscription.objects.get(tenant=tenant).plan.slug == "growth"
    public_entry = LedgerEntry.objects.filter(kind="billing.tier_changed").order_by("-sequence").first()
    assert (public_entry.actor_id, public_entry.stage_from, public_entry.stage_to, public_entry.reason) == (
        "user:billing-bob", "free", "growth", "signed the Growth order form"
    )  # fmt: skip
    with schema_context("mukuru_pay"):
        assert LedgerEntry.objects.filter(kind="billing.tier_changed", stage_to="growth").count() == 1

    # Now one service fits; a second is refused naming Growth.
    assert browser.post("/admin/configuration/service/add/", service_form, HTTP_HOST=host).status_code == 302
    second = browser.post("/admin/configuration/service/add/", service_form | {"name": "ledger"}, HTTP_HOST=host)
    assert "The Growth plan includes 1 service, and you have 1" in _errors(second)

    # A contact, a WhatsApp channel (in Growth) and a recovery action; Slack is not in Growth.
    contact = browser.post(
        "/admin/configuration/contact/add/",
        {"name": "Tendai", "phone_e164": "+263771234567", "escalation_order": "1", "active": "on"},
        HTTP_HOST=host,
    )
    assert contact.status_code == 302
    channel = {
        "kind": "whatsapp_sentdm", "enabled": "on", "fallback_order": "1",
        "sentdm_api_key": "sentdm-key-plaintext-0001", "sentdm_sender_id": "AlertEngine",
    }  # fmt: skip
    assert browser.post("/admin/configuration/channelsetting/add/", channel, HTTP_HOST=host).status_code == 302
    slack = browser.post(
        "/admin/configuration/channelsetting/add/",
        {"kind": "slack", "enabled": "on", "fallback_order": "2", "slack_webhook_url": "https://hooks.slack.com/x"},
        HTTP_HOST=host,
    )
    assert "The Growth plan does not include the Slack channel" in _errors(slack)
    action = browser.post(
        "/admin/configuration/recoveryaction/add/",
        {"name": "restart_worker_pool", "webhook_url": "https://pay.example.com/recover", "enabled": "on"},
        HTTP_HOST=host,
    )
    with schema_context("mukuru_pay"):
        secret = RecoveryAction.objects.get().signing_secret
        sentdm = ChannelSetting.objects.get(kind="whatsapp_sentdm")
        assert Contact.objects.get().name == "Tendai" and Service.objects.count() == 1
        assert LedgerEntry.objects.filter(kind="configuration.changed").count() == 4
    assert action.status_code == 200 and secret.startswith("whsec_") and secret.encode() in action.content

    # Secrets are never shown again, and a blank secret input keeps the stored one.
    action_page = browser.get("/admin/configuration/recoveryaction/1/change/", HTTP_HOST=host)
    assert action_page.status_code == 200 and secret.encode() not in action_page.content
    channel_page = browser.get(f"/admin/configuration/channelsetting/{sentdm.pk}/change/", HTTP_HOST=host)
    assert b"sentdm-key-plaintext-0001" not in channel_page.content and "••••0001" in channel_page.content.decode()
    kept = browser.post(
        f"/admin/configuration/channelsetting/{sentdm.pk}/change/",
        channel | {"sentdm_api_key": "", "fallback_order": "3"},
        HTTP_HOST=host,
    )
    assert kept.status_code == 302
    with schema_context("mukuru_pay"):
        assert ChannelSetting.objects.get(pk=sentdm.pk).sentdm_api_key == "sentdm-key-plaintext-0001"
