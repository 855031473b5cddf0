"""The recovery webhook as the tenant's endpoint and an auditor see it: signed, idempotent, retried, dead-lettered."""

# ruff: noqa: F811 - pytest fixtures are imported from tests.notifications.support and named as arguments

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from incidents.approvals import approval_decide
from incidents.execution import execution_run
from incidents.models import DeadLetter, Execution, Incident
from incidents.state import Stage
from ledger.models import LedgerEntry
from tests.notifications.support import host_of, receiver, webhook_body, world  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


def _approved(plan: str, url: str):
    w = world(plan=plan, webhook_url=url)
    approval_decide(approval_id=w.approval.pk, decision="approve", via="web")
    return w, Execution.objects.get(incident=w.incident)


def _verify(w, request: dict) -> dict:
    return Webhook(w.secret).verify(request["body"], request["headers"])


def test_an_approved_action_calls_the_webhook_once_with_a_valid_signature(in_tenant, receiver):
    w, execution = _approved("team", receiver.url)
    execution_run(execution_id=execution.pk)
    execution_run(execution_id=execution.pk)  # a duplicated task
    assert len(receiver.received) == 1
    request = receiver.received[0]
    payload = _verify(w, request)
    assert request["headers"]["webhook-id"] == execution.webhook_id
    assert payload["type"] == "recovery.authorized" and payload["action"]["name"] == "restart_worker_pool"
    assert payload["incident"]["id"] == str(w.incident.id)
    assert payload["approval"]["approved_by"]["contact_id"] == w.contacts[0].pk and payload["approval"]["via"] == "web"
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.EXECUTED
    kinds = [(e.kind, e.stage_to, e.actor_type) for e in LedgerEntry.objects.filter(incident_id=w.incident.id)]
    assert ("execution.attempted", "", "orchestrator") in kinds and ("incident.stage_changed", "EXECUTED",
                                                                     "orchestrator") in kinds


def test_a_wrong_secret_does_not_verify(in_tenant, receiver):
    _, execution = _approved("team", receiver.url)
    execution_run(execution_id=execution.pk)
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook("whsec_" + "QUJD" * 11).verify(receiver.received[0]["body"], receiver.received[0]["headers"])


def test_three_failures_dead_letter_and_an_admin_replay_executes_once(in_tenant, receiver, client):
    receiver.statuses = [503, 503, 503]
    w, execution = _approved("compliance", receiver.url)
    execution_run(execution_id=execution.pk)
    assert [r["status"] for r in receiver.received] == [503, 503, 503]
    assert {r["headers"]["webhook-id"] for r in receiver.received} == {execution.webhook_id}
    stamps = [int(r["headers"]["webhook-timestamp"]) for r in receiver.received]
    assert stamps[1] - stamps[0] >= 1 and stamps[2] - stamps[1] >= 3  # 2 s, then 4 s
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.WEBHOOK_FAILED
    [dead] = DeadLetter.objects.filter(incident=w.incident)
    assert "HTTP 503" in dead.reason

    get_user_model().objects.create_superuser("ops", "ops@acme.test", "a-long-password-1")
    client.defaults["HTTP_HOST"] = host_of(in_tenant)
    assert client.post("/admin/login/", {"username": "ops", "password": "a-long-password-1"}).status_code == 302
    detail = client.get(f"/admin/incidents/deadletter/{dead.pk}/change/")
    assert detail.status_code == 200 and "HTTP 503" in detail.content.decode()
    replay = {"action": "replay", "_selected_action": [dead.pk]}
    answer = client.post("/admin/incidents/deadletter/", replay, follow=True)
    assert "replay queued" in answer.content.decode()
    execution_run(execution_id=execution.pk)  # the task the replay queued
    execution_run(execution_id=execution.pk)  # and a duplicate of it
    assert [r["status"] for r in receiver.received] == [503, 503, 503, 200]
    assert receiver.received[3]["headers"]["webhook-id"] == execution.webhook_id
    _verify(w, receiver.received[3])
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.EXECUTED
    entry = LedgerEntry.objects.get(incident_id=w.incident.id, kind="execution.replay_authorized")
    assert (entry.actor_type, entry.actor_id, entry.source) == ("engineer", "user:ops", "admin")
    assert "authorized a replay of restart_worker_pool" in entry.reason

    again = client.post("/admin/incidents/deadletter/", replay, follow=True)
    assert "replayed already" in again.content.decode()
    assert len(receiver.received) == 4


def test_a_4xx_is_not_retried_and_below_compliance_there_is_no_dead_letter(in_tenant, receiver):
    receiver.statuses = [400]
    w, execution = _approved("team", receiver.url)
    execution_run(execution_id=execution.pk)
    assert len(receiver.received) == 1
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.WEBHOOK_FAILED
    assert not DeadLetter.objects.exists()
    assert Execution.objects.get(pk=execution.pk).attempts == 1


def test_a_tenant_user_without_admin_rights_cannot_replay(in_tenant, receiver):
    receiver.statuses = [400]
    _, execution = _approved("compliance", receiver.url)
    execution_run(execution_id=execution.pk)
    [dead] = DeadLetter.objects.all()
    user = get_user_model().objects.create_user("viewer", "v@acme.test", "a-long-password-1", is_staff=True)
    from django.contrib.auth.models import Permission

    user.user_permissions.add(Permission.objects.get(codename="view_deadletter"))
    web = Client(HTTP_HOST=host_of(in_tenant))
    assert web.post("/admin/login/", {"username": "viewer", "password": "a-long-password-1"}).status_code == 302
    assert web.get(f"/admin/incidents/deadletter/{dead.pk}/change/").status_code == 200
    web.post("/admin/incidents/deadletter/", {"action": "replay", "_selected_action": [dead.pk]})
    assert DeadLetter.objects.get(pk=dead.pk).replayed_at is None
    assert Execution.objects.get(pk=execution.pk).status == "failed"
