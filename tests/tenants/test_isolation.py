"""A session or API key of tenant A presented on tenant B's host gets 403, on every tenant endpoint.

The endpoints are enumerated from the tenant URLconf, so endpoints added later are covered too.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils.regex_helper import normalize
from django_tenants.utils import schema_context

from tenants.configuration.models import ApiKey
from tenants.configuration.services import api_key_issue

BASE = settings.ALERTENGINE_BASE_DOMAIN
PASSWORD = "a-long-password-for-isolation"


def _chains(patterns, prefix=()):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _chains(pattern.url_patterns, (*prefix, pattern.pattern))
        else:
            yield (*prefix, pattern.pattern)


def _fill(chain, value: str) -> str:
    path = ""
    for pattern in chain:
        template, params = normalize(pattern.regex.pattern)[0]
        path += template % dict.fromkeys(params, value)
    return "/" + path


def tenant_endpoints() -> list[str]:
    """One concrete, resolvable path per pattern of the tenant URLconf."""
    paths = []
    for chain in _chains(get_resolver(settings.ROOT_URLCONF).url_patterns):
        for value in ("1", str(uuid.uuid4()), ".json"):
            path = _fill(chain, value)
            try:
                resolve(path, settings.ROOT_URLCONF)
            except Resolver404:
                continue
            paths.append(path)
            break
        else:
            raise AssertionError(f"could not build a path for {chain!r}")
    return sorted(set(paths))


def _staff_session(tenant) -> Client:
    with schema_context(tenant.schema_name):
        get_user_model().objects.create_user("ops", password=PASSWORD, is_staff=True, is_superuser=True)
    client = Client()
    response = client.post(
        "/admin/login/", {"username": "ops", "password": PASSWORD, "next": "/admin/"}, HTTP_HOST=_host(tenant)
    )
    assert response.status_code == 302
    return client


def _host(tenant) -> str:
    return f"{tenant.domains.get().domain}"


def _api_key(tenant) -> str:
    with schema_context(tenant.schema_name):
        return api_key_issue(api_key=ApiKey(name="ci"), schema_name=tenant.schema_name, actor_id="test")


def test_the_enumeration_finds_the_admin_and_api_endpoints():
    endpoints = tenant_endpoints()
    assert "/api/v1/services/" in endpoints and "/api/v1/contacts/1/" in endpoints
    assert "/admin/configuration/service/1/change/" in endpoints and "/welcome/" in endpoints
    assert len(endpoints) > 50


def test_credentials_of_one_tenant_are_refused_on_every_endpoint_of_another(make_tenant):
    tenant_a, tenant_b = make_tenant("Org A"), make_tenant("Org B")
    session_a = _staff_session(tenant_a)
    key_a = _api_key(tenant_a)

    # Both credentials work on their own host.
    assert session_a.get("/admin/", HTTP_HOST=_host(tenant_a)).status_code == 200
    assert session_a.get("/api/v1/services/", HTTP_HOST=_host(tenant_a)).status_code == 200
    assert (
        Client().get("/api/v1/services/", HTTP_HOST=_host(tenant_a), HTTP_AUTHORIZATION=f"Api-Key {key_a}").status_code
        == 200
    )

    with_key = Client(HTTP_AUTHORIZATION=f"Api-Key {key_a}")
    for path in tenant_endpoints():
        by_session = session_a.get(path, HTTP_HOST=_host(tenant_b))
        assert by_session.status_code == 403, f"session of A on B's {path}: {by_session.status_code}"
        # The refusal also deletes the foreign cookie; put A's back for the next endpoint.
        session_a.cookies[settings.SESSION_COOKIE_NAME] = by_session.wsgi_request.COOKIES[settings.SESSION_COOKIE_NAME]
        by_key = with_key.get(path, HTTP_HOST=_host(tenant_b))
        assert by_key.status_code == 403, f"API key of A on B's {path}: {by_key.status_code}"
    assert b"another organisation" in by_key.content

    # B's own staff still get in: the refusals are about whose credentials they are.
    session_b = _staff_session(tenant_b)
    assert session_b.get("/api/v1/contacts/", HTTP_HOST=_host(tenant_b)).status_code == 200


def test_a_platform_session_is_refused_on_a_tenant_host(client, tenant, db):
    get_user_model().objects.create_user("platform-op", password=PASSWORD, is_staff=True, is_superuser=True)
    assert (
        client.post("/admin/login/", {"username": "platform-op", "password": PASSWORD}, HTTP_HOST=BASE).status_code
        == 302
    )
    assert client.get("/admin/", HTTP_HOST=BASE).status_code == 200
    refused = client.get("/admin/configuration/service/", HTTP_HOST=f"acme.{BASE}")
    assert refused.status_code == 403 and b"another organisation" in refused.content
