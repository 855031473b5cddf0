"""Degraded mode: failure rates over a window decide the mode every worker reads."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django_tenants.utils import schema_context

from devstack.services import free_port
from incidents import degraded
from incidents.degraded import Mode, Rate, mode_from
from ledger.models import LedgerEntry


@pytest.fixture
def clean_mode(db):
    def wipe():
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match="alertengine:outcomes:*"):
            client.delete(key)
        client.delete(degraded.MODE_KEY)

    wipe()
    yield
    wipe()
    degraded.mode_evaluate()


def mode_changes():
    with schema_context("public"):
        return list(LedgerEntry.objects.filter(kind="platform.mode_changed").order_by("sequence")
                    .values_list("stage_from", "stage_to"))


def test_mode_rules():
    assert mode_from({}, redis_ok=True) == (Mode.NORMAL, [])
    assert mode_from({"ai": Rate(3, 4)}, redis_ok=True)[0] == Mode.NORMAL  # too few samples to judge
    assert mode_from({"ai": Rate(5, 8)}, redis_ok=True) == (Mode.DEGRADED, ["ai"])
    assert mode_from({"ai": Rate(1, 8)}, redis_ok=False) == (Mode.DEGRADED, ["redis"])
    assert mode_from({"ai": Rate(6, 6), "notify:telegram": Rate(9, 10)}, redis_ok=True)[0] == Mode.EMERGENCY


def test_a_failing_ai_degrades_the_platform_and_recovery_restores_it(clean_mode):
    for _ in range(6):
        degraded.record("ai", ok=False)
    assert degraded.mode_evaluate() == Mode.DEGRADED
    assert degraded.current_mode() == Mode.DEGRADED
    assert degraded.suppressed("ai_diagnosis") and not degraded.suppressed("voice")
    for _ in range(20):
        degraded.record("ai", ok=True)
    assert degraded.mode_evaluate() == Mode.NORMAL
    assert mode_changes()[-2:] == [("NORMAL", "DEGRADED"), ("DEGRADED", "NORMAL")]


def test_two_failing_components_mean_emergency(clean_mode):
    for _ in range(6):
        degraded.record("ai", ok=False)
        degraded.record("notify:twilio_whatsapp", ok=False)
    assert degraded.mode_evaluate() == Mode.EMERGENCY
    assert degraded.suppressed("voice") and degraded.suppressed("council")


def test_without_redis_every_process_falls_back_to_degraded_and_nothing_raises(clean_mode):
    with override_settings(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0"):
        degraded.record("ai", ok=True)
        assert degraded.current_mode() == Mode.DEGRADED
        assert degraded.mode_evaluate() == Mode.DEGRADED
    assert mode_changes()[-1] == ("NORMAL", "DEGRADED")


def test_while_degraded_the_ai_is_not_asked_and_the_policy_explains(clean_mode, in_tenant, settings):
    from incidents.models import Incident
    from incidents.services import incident_propose, service_observe
    from tests.incidents.builders import on_plan, service, spike

    settings.ANTHROPIC_API_KEY = "sk-ant-devfake"
    settings.ANTHROPIC_BASE_URL = f"http://127.0.0.1:{free_port()}"  # a model call would fail differently
    on_plan("enterprise")
    for _ in range(6):
        degraded.record("ai", ok=False)
    assert degraded.mode_evaluate() == Mode.DEGRADED
    svc = service()
    for _ in range(2):
        service_observe(service=svc, observation=spike())
    incident = incident_propose(incident_id=Incident.objects.get(service=svc).id)
    assert incident.diagnosis["source"] == "policy"
    assert "paused while the platform is degraded" in incident.diagnosis["note"]
