"""The approval link as an engineer and an attacker see it: the page, the decisions, every refusal."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from incidents.approvals import (
    LINK_AUDIENCE,
    LINK_ISSUER,
    approval_link,
    approval_token,
    approvals_escalate,
    approvals_expire,
    approvals_voice_due,
)
from incidents.models import ApprovalRequest, Execution, Incident
from incidents.services import service_observe
from incidents.state import Stage
from ledger.models import LedgerEntry
from tests.incidents.builders import healthy
from tests.notifications.support import CLAUDE_DIAGNOSIS, host_of, world

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(in_tenant) -> Client:
    return Client(HTTP_HOST=host_of(in_tenant))


def _ledger(incident: Incident) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.filter(incident_id=incident.id).order_by("sequence"))


def _claims(approval: ApprovalRequest, **changes) -> dict:
    now = int(time.time())
    claims = {"iss": LINK_ISSUER, "aud": LINK_AUDIENCE, "iat": now, "exp": now + 300, "jti": uuid.uuid4().hex,
              "tenant": "acme", "incident": str(approval.incident_id), "action": approval.action_name,
              "approval": str(approval.pk), "contact": approval.contact_id}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def test_the_link_opens_a_page_that_shows_what_will_run_and_changes_nothing(web, in_tenant):
    w = world(webhook_url="https://recover.acme.example/hooks/alertengine")
    link = approval_link(w.approval)
    assert link.startswith(f"http://{host_of(in_tenant)}:8000/action/recover?token=")
    before = LedgerEntry.objects.count()
    page = web.get("/action/recover", {"token": link.split("token=", 1)[1]})
    body = page.content.decode()
    assert page.status_code == 200
    assert "Checkout API" in body and "Health score 23/100 | P95 2.8s | Errors 19%" in body
    assert "Database connection pool exhausted" in body and "Both models agree." in body
    assert "restart_worker_pool" in body and "recover.acme.example" in body
    assert "Time left:" in body and "Do not run" in body and "Nothing will run without your approval." in body
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    assert LedgerEntry.objects.count() == before
    w.approval.refresh_from_db()
    assert w.approval.status == "pending" and w.approval.consumed_at is None


def test_approve_authorizes_once_and_the_ledger_names_the_engineer_action_time_policy_and_channel(web):
    w = world()
    token = approval_token(w.approval)
    done = web.post("/action/recover/confirm", {"token": token})
    assert done.status_code == 200 and "Approved: restart_worker_pool" in done.content.decode()
    incident = Incident.objects.get(pk=w.incident.pk)
    assert incident.stage == Stage.AUTHORIZED
    authorized = [e for e in _ledger(incident) if e.stage_to == "AUTHORIZED"]
    assert len(authorized) == 1
    entry = authorized[0]
    assert (entry.actor_type, entry.actor_id, entry.source) == ("engineer", f"contact:{w.contacts[0].pk}", "web")
    assert entry.reason.startswith(f"engineer {w.contacts[0].name} (contact {w.contacts[0].pk}) authorized "
                                   "restart_worker_pool at ")
    assert entry.reason.endswith(f"under policy {incident.policy_version} via web")
    [execution] = Execution.objects.filter(incident=incident)
    assert execution.status == "pending" and execution.payload["approval"]["approved_by"]["name"] == w.contacts[0].name

    again = web.post("/action/recover/confirm", {"token": token})
    assert again.status_code == 409 and "already used" in again.content.decode()
    assert Execution.objects.filter(incident=incident).count() == 1
    assert _ledger(incident)[-1].kind == "approval.refused"


def test_do_not_run_rejects_and_the_link_then_cannot_approve(web):
    w = world()
    token = approval_token(w.approval)
    declined = web.post("/action/recover/reject", {"token": token})
    assert declined.status_code == 200 and "Not run" in declined.content.decode()
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.REJECTED
    assert web.post("/action/recover/confirm", {"token": token}).status_code == 409
    assert not Execution.objects.exists()


@pytest.mark.parametrize(
    ("forge", "status", "words"),
    [
        ("expired", 410, "expired"),
        ("tampered", 400, "not valid"),
        ("alg_none", 400, "not valid"),
        ("wrong_key", 400, "not valid"),
        ("missing_jti", 400, "not valid"),
        ("other_tenant", 403, "another organisation"),
        ("garbage", 400, "not valid"),
    ],
)
def test_forged_and_foreign_tokens_are_refused_and_change_nothing(web, forge, status, words):
    w = world()
    secret = settings.ALERT_SECRET
    if forge == "expired":
        past = int(time.time()) - 600
        token = jwt.encode(_claims(w.approval, iat=past, exp=past + 300), secret, algorithm="HS256")
    elif forge == "tampered":
        good = approval_token(w.approval)
        header, _, signature = good.split(".")
        forged = jwt.encode(_claims(w.approval, action="drop_database"), "x" * 40, algorithm="HS256").split(".")[1]
        token = ".".join([header, forged, signature])
    elif forge == "alg_none":
        token = jwt.encode(_claims(w.approval), None, algorithm="none")
    elif forge == "wrong_key":
        token = jwt.encode(_claims(w.approval), "an-attacker-guessed-secret-0123456789", algorithm="HS256")
    elif forge == "missing_jti":
        token = jwt.encode(_claims(w.approval, jti=None), secret, algorithm="HS256")
    elif forge == "other_tenant":
        token = jwt.encode(_claims(w.approval, tenant="globex"), secret, algorithm="HS256")
    else:
        token = "not-a-token"
    for response in (web.get("/action/recover", {"token": token}),
                     web.post("/action/recover/confirm", {"token": token})):
        assert response.status_code == status
        assert words in response.content.decode()
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.VALIDATED
    assert ApprovalRequest.objects.get(pk=w.approval.pk).status == "pending"


def test_a_confirm_after_the_service_recovered_is_refused_with_its_reason(web):
    w = world()
    token = approval_token(w.approval)
    for _ in range(3):
        service_observe(service=w.incident.service, observation=healthy())
    refused = web.post("/action/recover/confirm", {"token": token})
    assert refused.status_code == 409 and "recovered meanwhile" in refused.content.decode()
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.RECOVERED
    assert not Execution.objects.exists()


def test_the_approval_window_ends_in_expired_and_a_late_confirm_is_refused(web):
    w = world()
    token = approval_token(w.approval)
    later = timezone.now() + timedelta(seconds=w.incident.thresholds["approval_window_s"] + 1)
    assert approvals_expire(now=later) == [w.incident.id]
    incident = Incident.objects.get(pk=w.incident.pk)
    assert incident.stage == Stage.EXPIRED
    assert _ledger(incident)[-1].actor_type == "orchestrator"
    refused = web.post("/action/recover/confirm", {"token": token})
    assert refused.status_code == 410 and "approval window has closed" in refused.content.decode()


def test_a_deactivated_contact_cannot_approve(web):
    w = world()
    token = approval_token(w.approval)
    w.contacts[0].active = False
    w.contacts[0].save()
    refused = web.post("/action/recover/confirm", {"token": token})
    assert refused.status_code == 403 and "no longer an on-call contact" in refused.content.decode()
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.VALIDATED


def test_a_post_without_the_csrf_token_is_refused(in_tenant):
    w = world()
    strict = Client(HTTP_HOST=host_of(in_tenant), enforce_csrf_checks=True)
    refused = strict.post("/action/recover/confirm", {"token": approval_token(w.approval)})
    assert refused.status_code == 403
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.VALIDATED
    page = strict.get("/action/recover", {"token": approval_token(w.approval)})
    csrf = page.content.decode().split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    accepted = strict.post("/action/recover/confirm", {"token": approval_token(w.approval),
                                                       "csrfmiddlewaretoken": csrf})
    assert accepted.status_code == 200


def test_a_get_on_the_confirm_url_changes_nothing(web):
    w = world()
    assert web.get("/action/recover/confirm", {"token": approval_token(w.approval)}).status_code == 405
    assert Incident.objects.get(pk=w.incident.pk).stage == Stage.VALIDATED


def test_nobody_deciding_escalates_to_the_next_contact_with_a_fresh_link_and_a_voice_call_is_due(web):
    w = world(plan="compliance")
    later = timezone.now() + timedelta(seconds=w.incident.thresholds["escalation_after_s"] + 1)
    [fresh] = approvals_escalate(now=later)
    assert fresh.contact == w.contacts[1] and fresh.escalation_level == 1
    assert fresh.payload == w.approval.payload and fresh.expires_at == w.approval.expires_at
    assert approvals_escalate(now=later) == []  # each request escalates once
    assert _ledger(w.incident)[-1].kind == "approval.escalated"
    voice_time = timezone.now() + timedelta(seconds=w.incident.thresholds["voice_after_s"] + 1)
    assert [a.pk for a in approvals_voice_due(now=voice_time)] == [w.approval.pk]  # the fresh one is not due yet
    assert approvals_voice_due(now=voice_time) == []  # each call is placed once
    # The second contact's own link works, and the first contact's request is superseded.
    assert web.post("/action/recover/confirm", {"token": approval_token(fresh)}).status_code == 200
    assert ApprovalRequest.objects.get(pk=w.approval.pk).status == "superseded"
    assert web.post("/action/recover/confirm", {"token": approval_token(w.approval)}).status_code == 409


def test_below_compliance_no_voice_call_is_scheduled(in_tenant):
    w = world(plan="team")
    assert w.approval.voice_at is None and w.approval.escalate_at is not None


def test_on_dissent_each_theory_gets_its_own_request_and_the_ledger_records_the_trusted_one(web):
    from tenants.configuration.models import RecoveryAction
    from tenants.configuration.services import recovery_action_create

    recovery_action_create(action=RecoveryAction(name="failover_upstream", webhook_url="https://x.example/hook"),
                           actor_id="tests")
    dissent = {**CLAUDE_DIAGNOSIS, "source": "council", "agreement": "dissent", "theories": [
        {"label": "A", "model": "haiku", "lens": "latency and database", "likely_cause": "Pool exhausted",
         "category": "database", "confidence": 0.82, "suggested_action": "restart_worker_pool", "checks": ["slow log"]},
        {"label": "B", "model": "sonnet", "lens": "network and dependency", "likely_cause": "Upstream timeout",
         "category": "external_api", "confidence": 0.76, "suggested_action": "failover_upstream",
         "checks": ["upstream latency"]},
    ]}
    w = world(diagnosis=dissent)
    assert [(a.theory, a.action_name) for a in sorted(w.approvals, key=lambda a: a.theory)] == [
        ("A", "restart_worker_pool"), ("B", "failover_upstream")]
    theory_b = next(a for a in w.approvals if a.theory == "B")
    page = web.get("/action/recover", {"token": approval_token(theory_b)}).content.decode()
    assert "Models Disagree" in page and "Pool exhausted (82%)" in page and "Upstream timeout (76%)" in page
    assert web.post("/action/recover/confirm", {"token": approval_token(theory_b)}).status_code == 200
    entry = next(e for e in _ledger(w.incident) if e.stage_to == "AUTHORIZED")
    assert entry.body["theory"] == "B" and entry.body["action"] == "failover_upstream"
    theory_a = next(a for a in w.approvals if a.theory == "A")
    assert web.post("/action/recover/confirm", {"token": approval_token(theory_a)}).status_code == 409
