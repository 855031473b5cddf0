"""Calling the tenant's recovery webhook once a human authorized it (DESIGN §3.4).

Runs in a Celery task (queue ``execute``), never in the approval request. Every attempt carries
the same ``webhook-id`` (the execution's idempotency key) and a fresh Standard Webhooks signature
made with the action's secret. Up to 3 attempts, waiting 2 s then 4 s, on 5xx answers, timeouts
and connection errors only; every attempt is a row and a ledger entry. An execution is claimed by
a conditional UPDATE before the first attempt, so a duplicated or retried task never runs it twice
at once; a claim whose worker died is taken over after ``LEASE_S``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from datetime import datetime, timedelta

import requests
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from standardwebhooks import Webhook

from billing.selectors import entitlements
from incidents.events import EXECUTION_ATTEMPTED, EXECUTION_DEAD_LETTERED, EXECUTION_REPLAY_AUTHORIZED
from incidents.models import DeadLetter, Execution, Incident, WebhookAttempt
from incidents.services import incident_transition
from incidents.state import Stage
from ledger.models import ActorType, Source
from ledger.services import ledger_append
from saas.outbound import OutboundBlockedError, outbound_session, read_capped
from tenants.configuration.models import RecoveryAction

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
BACKOFF_S = (2.0, 4.0)
TIMEOUT = (3.05, 10.0)
LEASE_S = 90
#: A pending execution older than this lost its task message (e.g. Redis was down at approval).
DISPATCH_GRACE_S = 20


class ReplayRefusedError(Exception):
    """The dead-letter entry was replayed already, or its execution is not in a failed state."""


def webhook_headers(*, secret: str, webhook_id: str, body: str, now: datetime | None = None) -> dict[str, str]:
    """Standard Webhooks headers for one attempt: ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``."""
    now = now or timezone.now()
    return {
        "content-type": "application/json",
        "user-agent": "AlertEngine-Webhooks/1",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
    }


def execution_run(*, execution_id: uuid.UUID | str) -> Execution | None:
    """Run a pending execution (idempotent: anything not claimable is left alone and returned as is)."""
    now = timezone.now()
    claimed = Execution.objects.filter(
        Q(status=Execution.Status.PENDING) | Q(status=Execution.Status.RUNNING, claimed_at__lt=now - timedelta(
            seconds=LEASE_S)),
        pk=execution_id,
    ).update(status=Execution.Status.RUNNING, claimed_at=now)
    execution = Execution.objects.select_related("incident").filter(pk=execution_id).first()
    if not claimed or execution is None:
        return execution
    incident = execution.incident
    if incident.stage not in (Stage.AUTHORIZED, Stage.WEBHOOK_FAILED):
        _finish(execution, ok=False, reason=f"not run: the incident is {incident.stage}")
        return execution
    action = RecoveryAction.objects.filter(name=execution.action_name).first()
    if action is None or not action.signing_secret:
        _finish(execution, ok=False, reason=f"recovery action {execution.action_name} no longer exists")
        return _after_failure(execution, reason="the recovery action was deleted")
    body = json.dumps(execution.payload, separators=(",", ":"), sort_keys=True)
    session = outbound_session(timeout=TIMEOUT)
    last_error = ""
    for number in range(1, MAX_ATTEMPTS + 1):
        outcome, code, error, duration_ms, started = _attempt(session, execution, action.signing_secret, body)
        last_error = error or f"HTTP {code}"
        _attempt_record(execution, number=number, outcome=outcome, code=code, error=error,
                        duration_ms=duration_ms, started=started)
        if outcome == "succeeded":
            _finish(execution, ok=True, reason=f"HTTP {code}")
            return execution
        if outcome == "failed" or number == MAX_ATTEMPTS:
            break
        time.sleep(BACKOFF_S[number - 1])
    _finish(execution, ok=False, reason=last_error)
    return _after_failure(execution, reason=last_error)


def _attempt(session, execution: Execution, secret: str, body: str) -> tuple[str, int | None, str, int, datetime]:
    started = timezone.now()
    clock = time.monotonic()
    code: int | None = None
    try:
        response = session.post(execution.url, data=body.encode(),
                                headers=webhook_headers(secret=secret, webhook_id=execution.webhook_id, body=body),
                                stream=True)
        code = response.status_code
        read_capped(response, 64_000)
    except OutboundBlockedError as exc:
        return "failed", None, str(exc), _ms(clock), started
    except (requests.Timeout, requests.ConnectionError) as exc:
        if code is not None and 200 <= code < 300:
            # It answered 2xx, so the action ran: a slow or broken body must not make it run again.
            return "succeeded", code, "", _ms(clock), started
        return "retryable", code, f"{type(exc).__name__}: no complete answer", _ms(clock), started
    except requests.RequestException as exc:
        if code is not None and 200 <= code < 300:
            return "succeeded", code, "", _ms(clock), started
        return "failed", code, f"{type(exc).__name__}", _ms(clock), started
    if 200 <= code < 300:
        return "succeeded", code, "", _ms(clock), started
    if code >= 500:
        return "retryable", code, f"HTTP {code}", _ms(clock), started
    # 3xx (redirects are never followed) and 4xx: the webhook refused; repeating would not help.
    return "failed", code, f"HTTP {code}", _ms(clock), started


def _ms(clock: float) -> int:
    return int((time.monotonic() - clock) * 1000)


def _attempt_record(execution: Execution, *, number: int, outcome: str, code: int | None, error: str,
                    duration_ms: int, started: datetime) -> None:
    with transaction.atomic():
        WebhookAttempt.objects.create(execution=execution, number=number, started_at=started, duration_ms=duration_ms,
                                      status_code=code, outcome=outcome, error=error[:2000])
        Execution.objects.filter(pk=execution.pk).update(attempts=number, claimed_at=timezone.now())
        ledger_append(kind=EXECUTION_ATTEMPTED, actor_type=ActorType.ORCHESTRATOR, actor_id="execution",
                      source=Source.SYSTEM, incident_id=execution.incident_id,
                      reason=f"recovery webhook {execution.action_name} attempt {number}: {outcome}"
                             f"{f' ({error})' if error else ''}",
                      body={"execution_id": str(execution.pk), "webhook_id": execution.webhook_id, "attempt": number,
                            "outcome": outcome, "status_code": code, "duration_ms": duration_ms,
                            "authorized_by": execution.authorized_by})


def _finish(execution: Execution, *, ok: bool, reason: str) -> None:
    with transaction.atomic():
        execution.status = Execution.Status.SUCCEEDED if ok else Execution.Status.FAILED
        execution.completed_at = timezone.now()
        execution.save(update_fields=["status", "completed_at"])
        incident = Incident.objects.get(pk=execution.incident_id)
        if ok:
            incident_transition(incident_id=incident.id, to=Stage.EXECUTED, actor_type=ActorType.ORCHESTRATOR,
                                actor_id="execution", reason=f"recovery webhook {execution.action_name} answered "
                                                             f"{reason} (authorized by {execution.authorized_by})",
                                body={"execution_id": str(execution.pk), "webhook_id": execution.webhook_id})
        elif incident.stage == Stage.AUTHORIZED:
            incident_transition(incident_id=incident.id, to=Stage.WEBHOOK_FAILED, actor_type=ActorType.ORCHESTRATOR,
                                actor_id="execution",
                                reason=f"recovery webhook {execution.action_name} failed: {reason}",
                                body={"execution_id": str(execution.pk), "webhook_id": execution.webhook_id})


def _after_failure(execution: Execution, *, reason: str) -> Execution:
    """Dead-letter the execution (Compliance and above) or tell the tenant's contacts it failed."""
    if entitlements(tenant=connection.tenant).allows("dlq"):
        with transaction.atomic():
            entry = DeadLetter.objects.create(execution=execution, incident_id=execution.incident_id,
                                              reason=reason[:2000])
            ledger_append(kind=EXECUTION_DEAD_LETTERED, actor_type=ActorType.ORCHESTRATOR, actor_id="execution",
                          source=Source.SYSTEM, incident_id=execution.incident_id,
                          reason=f"recovery webhook {execution.action_name} dead-lettered after "
                                 f"{execution.attempts or MAX_ATTEMPTS} attempts: {reason}",
                          body={"execution_id": str(execution.pk), "dead_letter_id": entry.pk})
    else:
        from incidents.alerts import webhook_failed_notice
        from notifications.services import message_send

        with transaction.atomic():
            message, recipients = webhook_failed_notice(execution=execution, reason=reason)
            message_send(message=message, recipients=recipients)
    return execution


def dead_letter_replay(*, dead_letter_id: int, user_label: str) -> Execution:
    """A tenant admin's replay: an authorization of its own (ledger, as that user), then one more run."""
    now = timezone.now()
    with transaction.atomic():
        claimed = DeadLetter.objects.filter(pk=dead_letter_id, replayed_at__isnull=True).update(
            replayed_at=now, replayed_by=user_label)
        entry = DeadLetter.objects.select_related("execution", "incident").get(pk=dead_letter_id)
        if not claimed:
            raise ReplayRefusedError(f"this entry was replayed already by {entry.replayed_by} at "
                                     f"{entry.replayed_at:%Y-%m-%d %H:%M:%S} UTC")
        execution = entry.execution
        if not Execution.objects.filter(pk=execution.pk, status=Execution.Status.FAILED).update(
                status=Execution.Status.PENDING, authorized_by=user_label, claimed_at=None, completed_at=None):
            raise ReplayRefusedError(f"the execution is {execution.status}, not failed")
        if entry.incident.stage != Stage.WEBHOOK_FAILED:
            raise ReplayRefusedError(f"the incident is {entry.incident.stage}, not WEBHOOK_FAILED")
        ledger_append(kind=EXECUTION_REPLAY_AUTHORIZED, actor_type=ActorType.ENGINEER, actor_id=user_label,
                      source=Source.ADMIN, incident_id=entry.incident_id, policy_version=entry.incident.policy_version,
                      reason=f"engineer {user_label} authorized a replay of {execution.action_name} at "
                             f"{now:%Y-%m-%d %H:%M:%S} UTC under policy {entry.incident.policy_version} via admin",
                      body={"dead_letter_id": entry.pk, "execution_id": str(execution.pk),
                            "webhook_id": execution.webhook_id})
        from incidents import notify_tasks

        transaction.on_commit(lambda: notify_tasks.execution_run.delay(str(execution.pk)), robust=True)
    execution.refresh_from_db()
    return execution


def executions_stalled(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Executions whose task was lost (pending past the grace period) or whose worker died (lease expired)."""
    now = now or timezone.now()
    return list(Execution.objects.filter(
        Q(status=Execution.Status.PENDING, created_at__lt=now - timedelta(seconds=DISPATCH_GRACE_S))
        | Q(status=Execution.Status.RUNNING, claimed_at__lt=now - timedelta(seconds=LEASE_S))
    ).values_list("pk", flat=True))
