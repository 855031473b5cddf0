"""The tenant admin's incident list and detail page, as a tenant admin sees them."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model

from incidents.models import Incident
from incidents.services import incident_propose, service_observe
from tests.incidents.builders import on_plan, service, spike

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, in_tenant):
    on_plan("enterprise")
    get_user_model().objects.create_superuser("ops", "ops@acme.test", "a-long-password-1")
    client.defaults["HTTP_HOST"] = f"{in_tenant.schema_name}.{settings.ALERTENGINE_BASE_DOMAIN}"
    assert client.post("/admin/login/", {"username": "ops", "password": "a-long-password-1"}).status_code == 302
    return client


def _incident():
    svc = service("Checkout API")
    for _ in range(2):
        service_observe(service=svc, observation=spike())
    incident = incident_propose(incident_id=Incident.objects.get(service=svc).id)
    return incident


def test_the_incident_list_filters_by_stage(admin_client):
    incident = _incident()
    listed = admin_client.get("/admin/incidents/incident/", {"stage__exact": "VALIDATED"})
    assert listed.status_code == 200 and incident.title.encode() in listed.content
    other = admin_client.get("/admin/incidents/incident/", {"stage__exact": "RESOLVED"})
    assert incident.title.encode() not in other.content


def test_the_detail_page_shows_the_timeline_and_the_chart(admin_client):
    incident = _incident()
    page = admin_client.get(f"/admin/incidents/incident/{incident.id}/change/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "incident.opened" in body and "DETECTED &rarr; PROPOSED" in body and "PROPOSED &rarr; VALIDATED" in body
    assert "<svg" in body and "<polyline" in body
    assert incident.policy_version in body


def test_an_admin_resolves_an_incident_with_a_note_recorded_in_the_ledger(admin_client):
    incident = _incident()
    empty = admin_client.post(f"/admin/incidents/incident/{incident.id}/resolve/", {"note": " "}, follow=True)
    assert b"Say how the incident was resolved" in empty.content
    done = admin_client.post(f"/admin/incidents/incident/{incident.id}/resolve/", {"note": "restarted by hand"},
                             follow=True)
    assert b"Incident resolved." in done.content
    incident.refresh_from_db()
    assert incident.stage == "RESOLVED"
    assert b"user:ops" in admin_client.get(f"/admin/incidents/incident/{incident.id}/change/").content
