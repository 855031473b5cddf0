"""The tenant REST API: API keys (hashed, shown once, revocable), services and contacts, OpenAPI schema."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from ledger.models import LedgerEntry
from tenants.configuration.models import ApiKey, Service
from tenants.configuration.services import api_key_issue, api_key_revoke
from tests.tenants.builders import set_tier

pytestmark = pytest.mark.django_db

HOST = f"acme.{settings.ALERTENGINE_BASE_DOMAIN}"


@pytest.fixture
def api_key(tenant) -> str:
    with schema_context(tenant.schema_name):
        return api_key_issue(api_key=ApiKey(name="deploy bot"), schema_name=tenant.schema_name, actor_id="test")


def _api(key: str | None) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Api-Key {key}") if key else Client()


def test_keys_are_stored_only_as_hashes(tenant, api_key):
    with schema_context(tenant.schema_name), connection.cursor() as cursor:
        cursor.execute("SELECT * FROM configuration_apikey")
        assert api_key not in repr(cursor.fetchall())


def test_requests_without_or_with_an_unknown_or_revoked_key_are_refused(tenant, api_key):
    assert _api(None).get("/api/v1/services/", HTTP_HOST=HOST).status_code == 401
    forged = api_key[:-4] + "AAAA"
    unknown = _api(forged).get("/api/v1/services/", HTTP_HOST=HOST)
    assert unknown.status_code == 401 and unknown.json()["detail"] == "Invalid or revoked API key."
    with schema_context(tenant.schema_name):
        api_key_revoke(api_key=ApiKey.objects.get(), actor_id="test")
    assert _api(api_key).get("/api/v1/services/", HTTP_HOST=HOST).status_code == 401


def test_services_are_created_within_the_plan_and_the_token_is_never_returned(tenant, api_key):
    body = {"name": "payments-api", "health_url": "https://pay.example.com/health/alerts", "poll_token": "s3cret-poll"}
    on_free = _api(api_key).post("/api/v1/services/", body, content_type="application/json", HTTP_HOST=HOST)
    assert on_free.status_code == 400
    assert "The Free plan does not include polled services" in on_free.json()["non_field_errors"][0]

    set_tier(tenant, "starter")
    created = _api(api_key).post("/api/v1/services/", body, content_type="application/json", HTTP_HOST=HOST)
    assert created.status_code == 201, created.content
    assert created.json()["poll_token_set"] is True and "s3cret-poll" not in created.content.decode()
    listed = _api(api_key).get("/api/v1/services/", HTTP_HOST=HOST)
    assert [s["name"] for s in listed.json()] == ["payments-api"] and b"s3cret-poll" not in listed.content
    second = _api(api_key).post(
        "/api/v1/services/", body | {"name": "other"}, content_type="application/json", HTTP_HOST=HOST
    )
    assert second.status_code == 400 and "The Starter plan includes 1 service" in second.json()["non_field_errors"][0]
    with schema_context(tenant.schema_name):
        assert Service.objects.get().poll_token == "s3cret-poll"
        entry = LedgerEntry.objects.filter(kind="configuration.changed").latest("sequence")
        assert (entry.source, entry.actor_id.startswith("api-key:ae_")) == ("api", True)


def test_bad_input_gets_a_400_naming_the_field(tenant, api_key):
    set_tier(tenant, "starter")
    bad_url = _api(api_key).post(
        "/api/v1/services/",
        {"name": "x", "health_url": "https://user:pw@pay.example.com/"},
        content_type="application/json",
        HTTP_HOST=HOST,
    )
    assert bad_url.status_code == 400 and "credentials" in bad_url.json()["health_url"][0]
    bad_phone = _api(api_key).post(
        "/api/v1/contacts/", {"name": "Rudo", "phone_e164": "0771 234"}, content_type="application/json", HTTP_HOST=HOST
    )
    assert bad_phone.status_code == 400 and "E.164" in bad_phone.json()["phone_e164"][0]
    not_json = _api(api_key).post("/api/v1/contacts/", "{", content_type="application/json", HTTP_HOST=HOST)
    assert not_json.status_code == 400


def test_contacts_are_listed_in_escalation_order_and_can_be_removed(tenant, api_key):
    for name, order in (("Second", 2), ("First", 1)):
        response = _api(api_key).post(
            "/api/v1/contacts/",
            {"name": name, "phone_e164": "+263771234567", "escalation_order": order},
            content_type="application/json",
            HTTP_HOST=HOST,
        )
        assert response.status_code == 201
    listed = _api(api_key).get("/api/v1/contacts/", HTTP_HOST=HOST).json()
    assert [c["name"] for c in listed] == ["First", "Second"] and listed[0]["telegram_linked"] is False
    assert "telegram_link_code" not in listed[0]
    assert _api(api_key).delete(f"/api/v1/contacts/{listed[0]['id']}/", HTTP_HOST=HOST).status_code == 204
    assert [c["name"] for c in _api(api_key).get("/api/v1/contacts/", HTTP_HOST=HOST).json()] == ["Second"]


def test_the_openapi_schema_is_published_with_the_api_key_scheme(tenant):
    response = Client().get("/api/schema/", HTTP_HOST=HOST, HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert "/api/v1/services/" in schema["paths"] and "/api/v1/contacts/{id}/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["ApiKey"]["in"] == "header"
