"""Celery entry points of alerts, approvals and execution: thin and idempotent.

* ``incident_stage_notify`` (queue notify): after PROPOSED or VALIDATED commits, alert and open approvals.
* ``execution_run`` (queue execute): call the recovery webhook of an authorized execution.
* ``approvals_sweep`` (beat, every few seconds): the durable timers. Expiry, escalation, voice
  calls and lost executions are found from deadlines stored in PostgreSQL, so they survive
  worker restarts and never depend on a countdown outliving the broker's visibility timeout.
"""

from __future__ import annotations

import logging

from django.db import connection, transaction
from django_tenants.utils import tenant_context

from billing.selectors import tenants_to_poll
from incidents import alerts, approvals, execution
from incidents.events import QUOTA_REACHED
from incidents.models import ApprovalRequest, Incident
from incidents.state import Stage
from ledger.models import LedgerEntry
from notifications.services import message_send
from saas.celery import app
from tenants.configuration.selectors import contacts_in_escalation_order

logger = logging.getLogger(__name__)


def _incident_alert(incident: Incident) -> None:
    """The team-visible alert (no links): first contact's personal channels and the team channels."""
    contacts = contacts_in_escalation_order()
    message = alerts.incident_message(incident, kind="alert")
    message_send(message=message, recipients=[alerts.recipient_of(c) for c in contacts[:1]])


def approval_requests_send(requests: list[ApprovalRequest]) -> None:
    """Send each contact's approval message (links and chat buttons) for these requests."""
    by_contact: dict[int, list[ApprovalRequest]] = {}
    for request in requests:
        by_contact.setdefault(request.contact_id, []).append(request)
    for group in by_contact.values():
        group.sort(key=lambda r: r.theory)
        incident = group[0].incident
        message = alerts.approval_message(incident, group, [approvals.approval_link(r) for r in group])
        message_send(message=message, recipients=[alerts.recipient_of(group[0].contact)])


@app.task(name="incidents.notify_tasks.incident_stage_notify", ignore_result=True, acks_late=True)
def incident_stage_notify(incident_id: str, stage: str) -> None:
    """Alert on PROPOSED; on VALIDATED open the approval requests and send their links (once each)."""
    incident = Incident.objects.select_related("service").filter(pk=incident_id).first()
    if incident is None:
        return
    if not incident.alerts_allowed:
        if LedgerEntry.objects.filter(incident_id=incident.id, kind=QUOTA_REACHED.name).exists():
            with transaction.atomic():
                message_send(message=alerts.quota_notice(incident),
                             recipients=[alerts.recipient_of(c) for c in contacts_in_escalation_order()])
        return
    with transaction.atomic():
        if stage == Stage.PROPOSED and incident.stage == Stage.PROPOSED:
            _incident_alert(incident)
        elif stage == Stage.VALIDATED and incident.stage == Stage.VALIDATED:
            opened = approvals.approvals_open(incident_id=incident.id)
            # The team sees the alert once (same dedupe key as PROPOSED's), without anyone's link.
            message_send(message=alerts.incident_message(incident, kind="alert"), recipients=[])
            if opened:
                approval_requests_send(opened)
            else:
                _incident_alert(incident)


@app.task(name="incidents.notify_tasks.execution_run", ignore_result=True, acks_late=True)
def execution_run(execution_id: str) -> None:
    """Call the recovery webhook of an authorized execution (safe to run twice: the execution is claimed)."""
    execution.execution_run(execution_id=execution_id)


@app.task(name="incidents.notify_tasks.approvals_sweep", public=True, ignore_result=True)
def approvals_sweep() -> int:
    """Beat: run the deadline sweep in every active tenant."""
    count = 0
    for tenant in tenants_to_poll():
        try:
            with tenant_context(tenant):
                count += approvals_sweep_tenant()
        except Exception:  # one tenant's failure must not stop the deadlines of every tenant after it
            logger.exception("approval sweep of tenant %s failed", tenant.schema_name)
    return count


def approvals_sweep_tenant() -> int:
    """Expire, escalate, place due voice calls and re-dispatch lost executions, in this tenant."""
    done = len(approvals.approvals_expire())
    with transaction.atomic():
        escalated = approvals.approvals_escalate()
        if escalated:
            approval_requests_send(escalated)
    for request in approvals.approvals_voice_due():
        with transaction.atomic():
            message = alerts.voice_message(request, callback_url=f"{approvals.tenant_base_url()}/action/voice/"
                                                                 f"{request.chat_ref}")
            message_send(message=message, recipients=[alerts.recipient_of(request.contact)], kinds=("voice",))
        done += 1
    for execution_id in execution.executions_stalled():
        logger.warning("re-dispatching execution %s of tenant %s", execution_id, connection.schema_name)
        execution_run.delay(str(execution_id))
        done += 1
    return done + len(escalated)
