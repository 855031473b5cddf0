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
