"""Regressions from the security review of the tenant code."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.db import connection

from tenants.configuration.models import RecoveryAction
from tenants.configuration.services import recovery_action_create
from tenants.services import subdomain_validate, tenant_create

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("subdomain", ["information-schema", "pg-toast"])
def test_a_subdomain_naming_an_existing_postgresql_schema_is_refused(subdomain):
    with pytest.raises(ValidationError):
        subdomain_validate(subdomain=subdomain)
    with pytest.raises(ValidationError):
        tenant_create(name="Mallory", subdomain=subdomain)
    assert get_user_model().objects.filter(is_superuser=True, username__icontains="mallory").count() == 0


def test_a_view_only_user_cannot_rotate_or_read_a_signing_secret(client, in_tenant):
    action, original = recovery_action_create(
        action=RecoveryAction(name="restart_worker_pool", webhook_url="https://hooks.acme.test/recover"),
        actor_id="tests")
    viewer = get_user_model().objects.create_user("viewer", password="a-long-password-1", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_recoveryaction"))
    connection.set_tenant(in_tenant)
    client.defaults["HTTP_HOST"] = f"{in_tenant.schema_name}.{settings.ALERTENGINE_BASE_DOMAIN}"
    assert client.post("/admin/login/", {"username": "viewer", "password": "a-long-password-1"}).status_code == 302
    response = client.post("/admin/configuration/recoveryaction/",
                           {"action": "rotate_secret", "_selected_action": [action.pk]}, follow=True)
    action.refresh_from_db()
    assert action.signing_secret == original
    assert b"whsec_" not in response.content


def _login(client, tenant, username: str, *codenames: str):
    user = get_user_model().objects.create_user(username, password="a-long-password-1", is_staff=True)
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    connection.set_tenant(tenant)
    client.defaults["HTTP_HOST"] = f"{tenant.schema_name}.{settings.ALERTENGINE_BASE_DOMAIN}"
    assert client.post("/admin/login/", {"username": username, "password": "a-long-password-1"}).status_code == 302
    return user


def test_a_view_only_staff_user_reads_the_api_but_cannot_write_through_it(client, in_tenant):
    _login(client, in_tenant, "reader", "view_service", "view_contact")
    assert client.get("/api/v1/services/").status_code == 200
    created = client.post("/api/v1/contacts/", {"name": "Mallory", "phone_e164": "+14155550100"},
                          content_type="application/json")
    assert created.status_code == 403
    assert client.get("/api/v1/services/", HTTP_AUTHORIZATION="").status_code == 200


def test_only_a_superuser_may_mint_an_api_key(client, in_tenant):
    _login(client, in_tenant, "keymaker", "add_apikey", "view_apikey")
    assert client.get("/admin/configuration/apikey/add/").status_code == 403


def test_a_view_only_user_does_not_see_telegram_link_codes(client, in_tenant):
    from tenants.configuration.models import Contact

    contact = Contact.objects.create(name="Chipo", phone_e164="+263771234567")
    _login(client, in_tenant, "looker", "view_contact")
    page = client.get(f"/admin/configuration/contact/{contact.pk}/change/")
    assert page.status_code == 200
    assert contact.telegram_link_code.encode() not in page.content


def test_sign_ups_from_one_address_are_limited(client, settings):
    import redis

    redis.Redis.from_url(settings.REDIS_URL).delete("signup-rate:203.0.113.9")
    statuses = [
        client.post("/signup/", {"organisation": "x"}, HTTP_HOST=settings.ALERTENGINE_BASE_DOMAIN,
                    REMOTE_ADDR="203.0.113.9").status_code
        for _ in range(7)
    ]
    assert statuses[:5] == [400] * 5  # the form's own errors: the limit has not bitten
    assert statuses[5:] == [429, 429]


def test_a_hand_off_token_is_spent_once_even_by_concurrent_requests(in_tenant):
    from tenants.services import signup_handoff_spend, signup_handoff_token

    user = get_user_model().objects.create_user("founder", password="a-long-password-1", is_staff=True)
    token = signup_handoff_token(tenant=in_tenant, user=user)
    assert signup_handoff_spend(token=token, schema_name=in_tenant.schema_name) == user
    assert signup_handoff_spend(token=token, schema_name=in_tenant.schema_name) is None
