"""Liveness and readiness endpoints."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from devstack.services import free_port

pytestmark = pytest.mark.django_db


def test_healthz_and_readyz_answer_on_the_public_host(client):
    assert client.get("/healthz", HTTP_HOST=settings.ALERTENGINE_BASE_DOMAIN).json() == {"status": "ok"}
    ready = client.get("/readyz", HTTP_HOST=settings.ALERTENGINE_BASE_DOMAIN)
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok" and ready.json()["checks"]["redis"] == "ok"


def test_readyz_reports_not_ready_when_redis_is_down(client, tenant):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        ready = client.get("/readyz", HTTP_HOST=f"{tenant.schema_name}.{settings.ALERTENGINE_BASE_DOMAIN}")
    assert ready.status_code == 503
    assert ready.json()["checks"]["redis"].startswith("error")
