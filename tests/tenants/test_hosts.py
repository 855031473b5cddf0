"""Host routing: the public host and each tenant host serve their own admin."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django_tenants.utils import schema_context

pytestmark = pytest.mark.django_db

BASE = settings.ALERTENGINE_BASE_DOMAIN


def test_public_host_serves_the_platform_admin_login(client):
    response = client.get("/admin/login/", HTTP_HOST=BASE)
    assert response.status_code == 200
    assert b"Django administration" in response.content or b"Log in" in response.content


def test_tenant_host_serves_the_tenant_admin_login(client, tenant):
    response = client.get("/admin/login/", HTTP_HOST=f"{tenant.schema_name}.{BASE}")
    assert response.status_code == 200


def test_unknown_host_is_not_found(client):
    response = client.get("/admin/login/", HTTP_HOST=f"nobody.{BASE}")
    assert response.status_code == 404


def test_a_tenant_user_can_log_in_only_on_their_own_tenant_host(client, tenant):
    from django.test import Client

    with schema_context(tenant.schema_name):
        get_user_model().objects.create_user("alice", password="a-long-password-1", is_staff=True)
    connection.set_schema_to_public()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "alice", "password": "a-long-password-1", "next": "/admin/"},
        HTTP_HOST=f"{tenant.schema_name}.{BASE}",
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
    # The tenant's session cookie presented on the public host is refused outright.
    assert client.get("/admin/", HTTP_HOST=BASE).status_code == 403
    on_public = Client().post(
        "/admin/login/?next=/admin/",
        {"username": "alice", "password": "a-long-password-1", "next": "/admin/"},
        HTTP_HOST=BASE,
    )
    assert on_public.status_code == 200  # the form again, with an error
    assert b"Please enter the correct username and password" in on_public.content
