"""Human approval of recovery actions (DESIGN §3.3): requests, signed links, and their single consumption.

This is the only module that asks for AUTHORIZED. An approval request freezes what would run
(action, payload, diagnosis shown, policy version) for one contact. Its link carries a short-lived
JWT naming tenant, incident, action, request and contact; chat buttons carry the request's opaque
``chat_ref`` instead and rely on the chat being linked to that contact. Either way the request is
consumed by one conditional UPDATE in PostgreSQL, so exactly one of any number of concurrent
decisions wins, with or without Redis.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.selectors import entitlements
from incidents.events import APPROVAL_ACKNOWLEDGED, APPROVAL_ESCALATED, APPROVAL_REFUSED, APPROVAL_REQUESTED
from incidents.models import ApprovalRequest, Execution, Incident
from incidents.services import incident_transition
from incidents.state import Stage, TransitionRefusedError
from ledger.models import ActorType, Source
from ledger.services import ledger_append
from tenants.configuration.models import Contact, RecoveryAction
from tenants.configuration.selectors import contacts_in_escalation_order

logger = logging.getLogger(__name__)

TOKEN_TTL_S = 300
SIGNING_ALGORITHM = "HS256"
LINK_ISSUER = "alertengine"
LINK_AUDIENCE = "alertengine:approval"
REQUIRED_CLAIMS = ["exp", "iat", "jti", "aud", "iss"]
APPROVE, REJECT = "approve", "reject"


class ApprovalRefusedError(Exception):
    """A decision (or a look at the page) was refused; ``status`` and ``title`` make the refusal page."""

    def __init__(self, *, status: int, code: str, title: str, detail: str, approval: ApprovalRequest | None = None
                 ) -> None:
        super().__init__(f"{code}: {detail}")
        self.status, self.code, self.title, self.detail, self.approval = status, code, title, detail, approval


# ---------------------------------------------------------------- links and tokens


def tenant_base_url() -> str:
    """``scheme://<tenant host>[:port]`` of the connection's tenant, from ``ALERTENGINE_BASE_URL``."""
    base = urlsplit(settings.ALERTENGINE_BASE_URL)
    domain = connection.tenant.get_primary_domain().domain
    return f"{base.scheme}://{domain}{f':{base.port}' if base.port else ''}"


def approval_token(approval: ApprovalRequest, *, now: datetime | None = None) -> str:
    """A signed token for ``approval``: 5 minutes, or less when the approval window ends sooner."""
    now = now or timezone.now()
    expires = min(now + timedelta(seconds=TOKEN_TTL_S), approval.expires_at)
    claims = {
        "iss": LINK_ISSUER,
        "aud": LINK_AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int(expires.timestamp()),
        "jti": uuid.uuid4().hex,
        "tenant": connection.schema_name,
        "incident": str(approval.incident_id),
        "action": approval.action_name,
        "approval": str(approval.pk),
        "contact": approval.contact_id,
    }
    return jwt.encode(claims, settings.ALERT_SECRET, algorithm=SIGNING_ALGORITHM)


def approval_link(approval: ApprovalRequest) -> str:
    """The link sent to the contact: ``<tenant base URL>/action/recover?token=...``."""
    return f"{tenant_base_url()}/action/recover?token={approval_token(approval)}"


@dataclass(frozen=True)
class TokenClaims:
    tenant: str
    incident: str
    action: str
    approval: str
    contact: int
    expires_at: datetime


_INVALID = {"status": 400, "code": "invalid", "title": "This link is not valid",
            "detail": "The approval link is damaged or was not issued by AlertEngine. Use the link from your alert."}


def token_read(token: str | None) -> TokenClaims:
    """Check signature, required claims and expiry, then that the token belongs to this host's tenant."""
    if not token or len(token) > 4096:
        raise ApprovalRefusedError(**_INVALID)
    try:
        claims = jwt.decode(token, settings.ALERT_SECRET, algorithms=[SIGNING_ALGORITHM], audience=LINK_AUDIENCE,
                            issuer=LINK_ISSUER, options={"require": REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise ApprovalRefusedError(status=410, code="expired", title="This link has expired",
                                   detail="Approval links are valid for 5 minutes. A newer alert carries a fresh "
                                          "link if the incident still needs a decision.") from None
    except jwt.InvalidTokenError:
        raise ApprovalRefusedError(**_INVALID) from None
    try:
        read = TokenClaims(tenant=str(claims["tenant"]), incident=str(uuid.UUID(str(claims["incident"]))),
                           action=str(claims["action"]), approval=str(uuid.UUID(str(claims["approval"]))),
                           contact=int(claims["contact"]),
                           expires_at=datetime.fromtimestamp(int(claims["exp"]), tz=UTC))
    except (KeyError, ValueError, TypeError):
        raise ApprovalRefusedError(**_INVALID) from None
    if read.tenant != connection.schema_name:
        raise ApprovalRefusedError(status=403, code="wrong_tenant", title="This link belongs to another organisation",
                                   detail="The approval link was issued for another organisation's host; "
                                          "nothing was changed here.")
    return read


def approval_for_token(claims: TokenClaims) -> ApprovalRequest:
    """The request a verified token names; its claims must match the stored request exactly."""
    approval = (ApprovalRequest.objects.select_related("incident", "incident__service", "contact")
                .filter(pk=claims.approval).first())
    if approval is None or (str(approval.incident_id), approval.action_name, approval.contact_id) != (
        claims.incident, claims.action, claims.contact
    ):
        raise ApprovalRefusedError(**_INVALID)
    return approval


# ---------------------------------------------------------------- checks shared by the page and the decision


def approval_check(approval: ApprovalRequest, *, now: datetime | None = None) -> None:
    """Refuse unless the request is pending, in its window, its incident awaiting approval, its contact active."""
    now = now or timezone.now()
    if approval.status in (ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED):
        verb = "approved" if approval.status == ApprovalRequest.Status.APPROVED else "declined (do not run)"
        raise ApprovalRefusedError(status=409, code="used", title="This link was already used",
                                   detail=f"This request was {verb} via {approval.decided_via} at "
                                          f"{approval.consumed_at:%H:%M:%S} UTC. Each link works once.",
                                   approval=approval)
    if approval.status == ApprovalRequest.Status.SUPERSEDED:
        raise ApprovalRefusedError(status=409, code="superseded", title="Someone already decided",
                                   detail="Another approval request for this incident was decided first; "
                                          "nothing was changed.", approval=approval)
    if approval.status == ApprovalRequest.Status.EXPIRED or approval.expires_at <= now:
        raise ApprovalRefusedError(status=410, code="window_closed", title="The approval window has closed",
                                   detail="Nobody decided within the policy's approval window, so the request "
                                          "expired. Nothing was run.", approval=approval)
    _incident_and_contact_check(approval, approval.incident)


def approval_refusal_record(error: ApprovalRefusedError, *, via: str) -> None:
    """Log a refused decision; one about a real request of this tenant also goes to the ledger."""
    approval = error.approval
    logger.warning("approval decision refused: %s (tenant %s, request %s, via %s)", error.code,
                   connection.schema_name, approval.pk if approval else "-", via)
    if approval is not None:
        ledger_append(kind=APPROVAL_REFUSED, actor_type=ActorType.ENGINEER, actor_id=f"contact:{approval.contact_id}",
                      source=via, incident_id=approval.incident_id, reason=f"{error.title}: {error.detail}",
                      policy_version=approval.policy_version,
                      body={"approval_id": str(approval.pk), "code": error.code})


# ---------------------------------------------------------------- the decision


def approval_decide(*, approval_id: uuid.UUID | str, decision: str, via: str) -> ApprovalRequest:
    """Consume the request with ``decision`` (approve → AUTHORIZED and an execution; reject → REJECTED).

    One conditional UPDATE claims the request; the stage change, the ledger entry and the
    execution row commit with it or not at all. Raises :class:`ApprovalRefusedError`.
    """
    if decision not in (APPROVE, REJECT):
        raise ValueError(f"unknown decision {decision!r}")
    now = timezone.now()
    status = ApprovalRequest.Status.APPROVED if decision == APPROVE else ApprovalRequest.Status.REJECTED
    incident_id = ApprovalRequest.objects.filter(pk=approval_id).values_list("incident_id", flat=True).first()
    if incident_id is None:
        raise ApprovalRefusedError(status=404, code="unknown", title="This link is not valid here",
                                   detail="No such approval request.", approval=None)
    try:
        with transaction.atomic():
            # Every decision on an incident locks the incident first, then its request: the same
            # order everywhere, so two decisions (dissent, escalation) queue instead of deadlocking.
            incident = Incident.objects.select_for_update().get(pk=incident_id)
            # One single-table conditional UPDATE claims the request: PostgreSQL re-checks these
            # columns on the row it locked, so of any number of concurrent claims exactly one wins.
            won = ApprovalRequest.objects.filter(
                pk=approval_id, status=ApprovalRequest.Status.PENDING, consumed_at__isnull=True, expires_at__gt=now,
            ).update(status=status, decision=decision, decided_via=via, consumed_at=now)
            approval = ApprovalRequest.objects.select_related("incident", "contact").get(pk=approval_id)
            if not won:
                approval_check(approval, now=now)
                raise ApprovalRefusedError(status=409, code="used", title="This link was already used",
                                           detail="Each link works once.", approval=approval)
            _incident_and_contact_check(approval, incident)  # under the incident lock; a refusal rolls the claim back
            if decision == APPROVE:
                _frozen_action_check(approval)
            _decision_apply(approval, via=via, now=now)
    except TransitionRefusedError:
        approval = ApprovalRequest.objects.select_related("incident", "contact").get(pk=approval_id)
        approval_check(approval, now=now)
        raise ApprovalRefusedError(status=409, code="not_awaiting", title="This incident no longer awaits approval",
                                   detail="Another decision was made first; nothing was changed.",
                                   approval=approval) from None
    return approval


def _incident_and_contact_check(approval: ApprovalRequest, incident: Incident) -> None:
    """The checks on the incident and the contact: on the page, and again under the lock after the claim."""
    if incident.stage == Stage.RECOVERED:
        raise ApprovalRefusedError(status=409, code="recovered", title="The service recovered meanwhile",
                                   detail="The policy saw the service healthy again, so no recovery action is "
                                          "needed. Nothing was run.", approval=approval)
    if incident.stage != Stage.VALIDATED:
        raise ApprovalRefusedError(status=409, code="not_awaiting", title="This incident no longer awaits approval",
                                   detail=f"The incident is {incident.stage}; nothing was changed.",
                                   approval=approval)
    if not approval.contact.active:
        raise ApprovalRefusedError(status=403, code="contact_inactive", title="You are no longer an on-call contact",
                                   detail="This link was sent to a contact who has since been deactivated.",
                                   approval=approval)


def _frozen_action_check(approval: ApprovalRequest) -> None:
    """What was approved must still be what runs: the action exists, is enabled, calls the same URL."""
    action = RecoveryAction.objects.filter(name=approval.action_name).first()
    if action is None or not action.enabled or action.webhook_url != approval.payload.get("webhook_url"):
        raise ApprovalRefusedError(
            status=409, code="changed", title="This action was changed after the link was sent",
            detail="The recovery action was disabled, removed or points elsewhere now; a new approval is needed.",
            approval=approval)


def _decision_apply(approval: ApprovalRequest, *, via: str, now: datetime) -> None:
    contact, incident = approval.contact, approval.incident
    at = now.strftime("%Y-%m-%d %H:%M:%S UTC")
    body = {"approval_id": str(approval.pk), "contact_id": contact.pk, "action": approval.action_name,
            "theory": approval.theory, "payload": approval.payload, "via": via}
    if approval.decision == APPROVE:
        reason = (f"engineer {contact.name} (contact {contact.pk}) authorized {approval.action_name} at {at} "
                  f"under policy {approval.policy_version} via {via}")
        incident_transition(incident_id=incident.id, to=Stage.AUTHORIZED, actor_type=ActorType.ENGINEER,
                            actor_id=f"contact:{contact.pk}", source=via, reason=reason, body=body,
                            approval=approval)
        execution = Execution.objects.create(
            incident=incident, approval=approval, webhook_id=f"msg_{uuid.uuid4().hex}",
            action_name=approval.action_name, url=approval.payload["webhook_url"],
            payload=_execution_payload(approval, now=now), authorized_by=f"contact:{contact.pk}",
        )
        from incidents import notify_tasks

        transaction.on_commit(lambda: notify_tasks.execution_run.delay(str(execution.pk)), robust=True)
    else:
        reason = (f"engineer {contact.name} (contact {contact.pk}) declined {approval.action_name} (do not run) "
                  f"at {at} under policy {approval.policy_version} via {via}")
        incident_transition(incident_id=incident.id, to=Stage.REJECTED, actor_type=ActorType.ENGINEER,
                            actor_id=f"contact:{contact.pk}", source=via, reason=reason, body=body)
    ApprovalRequest.objects.filter(incident=incident, status=ApprovalRequest.Status.PENDING).exclude(
        pk=approval.pk).update(status=ApprovalRequest.Status.SUPERSEDED)


def _execution_payload(approval: ApprovalRequest, *, now: datetime) -> dict[str, Any]:
    """The recovery webhook's JSON body (docs/webhooks.md): the frozen request plus who approved it and when."""
    frozen = {k: v for k, v in approval.payload.items() if k != "webhook_url"}
    return {
        "type": "recovery.authorized",
        "tenant": connection.schema_name,
        **frozen,
        "approval": {
            "id": str(approval.pk),
            "approved_by": {"contact_id": approval.contact_id, "name": approval.contact.name},
            "approved_at": now.isoformat(),
            "via": approval.decided_via,
            "policy_version": approval.policy_version,
            "theory": approval.theory or None,
        },
    }


def approval_acknowledge(*, approval: ApprovalRequest, via: str) -> bool:
    """The contact acknowledged (e.g. a key press on the voice call): escalation of this request stops."""
    with transaction.atomic():
        acknowledged = ApprovalRequest.objects.filter(pk=approval.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), escalate_at=None, voice_at=None)
        if acknowledged:
            ledger_append(kind=APPROVAL_ACKNOWLEDGED, actor_type=ActorType.ENGINEER,
                          actor_id=f"contact:{approval.contact_id}", source=via, incident_id=approval.incident_id,
                          reason=f"{approval.contact.name} acknowledged the incident",
                          policy_version=approval.policy_version,
                          body={"approval_id": str(approval.pk)})
    return bool(acknowledged)


# ---------------------------------------------------------------- opening and escalating requests


def actions_for(incident: Incident) -> list[tuple[str, RecoveryAction]]:
    """The (theory, action) pairs to ask about: one per council theory on dissent, else the suggestion.

    Without a usable suggestion, a tenant with exactly one enabled action is asked about that one.
    """
    enabled = {action.name: action for action in RecoveryAction.objects.filter(enabled=True)}
    diagnosis = incident.diagnosis or {}
    if diagnosis.get("agreement") == "dissent":
        theories = [t for t in diagnosis.get("theories") or [] if isinstance(t, dict)]
        pairs = [(str(t.get("label", ""))[:1], enabled[t["suggested_action"]])
                 for t in theories if t.get("suggested_action") in enabled]
        if pairs:
            return pairs[:2]
    suggested = diagnosis.get("suggested_action")
    if suggested in enabled:
        return [("", enabled[suggested])]
    if len(enabled) == 1:
        return [("", next(iter(enabled.values())))]
    return []


def _frozen_payload(incident: Incident, action: RecoveryAction, theory: str) -> dict[str, Any]:
    observation = incident.opening_observation or {}
    return {
        "incident": {
            "id": str(incident.id), "title": incident.title, "kind": incident.kind,
            "service": {"id": incident.service_id, "name": incident.service.name},
            "opened_at": incident.opened_at.isoformat(), "policy_version": incident.policy_version,
            "observation": {k: observation.get(k) for k in ("score", "p95_ms", "error_rate")},
        },
        "action": {"name": action.name, "description": action.description},
        "webhook_url": action.webhook_url,
    }


def approvals_open(*, incident_id: uuid.UUID | str, now: datetime | None = None) -> list[ApprovalRequest]:
    """On VALIDATED: create the first contact's request(s); idempotent (existing ones are returned)."""
    now = now or timezone.now()
    with transaction.atomic():
        incident = Incident.objects.select_for_update().select_related("service").get(pk=incident_id)
        existing = list(ApprovalRequest.objects.filter(incident=incident, escalation_level=0))
        if existing or incident.stage != Stage.VALIDATED or not incident.alerts_allowed:
            return existing
        contacts = contacts_in_escalation_order()
        pairs = actions_for(incident)
        if not contacts or not pairs:
            logger.warning("incident %s awaits approval but has no %s", incident.id,
                           "contact" if not contacts else "enabled recovery action")
            return []
        return [_request_create(incident=incident, contact=contacts[0], level=0, theory=theory, action=action,
                                expires_at=now + timedelta(seconds=_window(incident, "approval_window_s")), now=now)
                for theory, action in pairs]


def _window(incident: Incident, name: str) -> int:
    from incidents.policy import DEFAULT

    return int(incident.thresholds.get(name, getattr(DEFAULT, name)))


def _request_create(*, incident: Incident, contact: Contact, level: int, theory: str, action: RecoveryAction,
                    expires_at: datetime, now: datetime, frozen: ApprovalRequest | None = None) -> ApprovalRequest:
    """A request for ``contact``; an escalation (``frozen``) repeats the original's snapshot exactly."""
    voice = entitlements(tenant=connection.tenant).allows("voice_escalation")
    payload = frozen.payload if frozen else _frozen_payload(incident, action, theory)
    approval = ApprovalRequest.objects.create(
        incident=incident, contact=contact, action_name=action.name,
        action_host=urlsplit(payload["webhook_url"]).hostname or "",
        payload=payload,
        diagnosis=frozen.diagnosis if frozen else (incident.diagnosis or {}), theory=theory,
        policy_version=frozen.policy_version if frozen else incident.policy_version,
        escalation_level=level, chat_ref=secrets.token_urlsafe(16), expires_at=expires_at,
        escalate_at=now + timedelta(seconds=_window(incident, "escalation_after_s")),
        voice_at=now + timedelta(seconds=_window(incident, "voice_after_s")) if voice and contact.phone_e164 else None,
    )
    ledger_append(kind=APPROVAL_REQUESTED, actor_type=ActorType.ORCHESTRATOR, actor_id="approvals",
                  source=Source.SYSTEM, incident_id=incident.id, policy_version=incident.policy_version,
                  reason=f"approval of {action.name} requested from {contact.name}"
                         f"{f' (theory {theory})' if theory else ''}, expires {expires_at:%H:%M:%S} UTC",
                  body={"approval_id": str(approval.pk), "contact_id": contact.pk, "action": action.name,
                        "theory": theory, "escalation_level": level, "expires_at": expires_at.isoformat(),
                        "payload": approval.payload})
    return approval


def approvals_expire(*, now: datetime | None = None) -> list[uuid.UUID]:
    """End the approval window of every incident whose requests all expired undecided (→ EXPIRED)."""
    now = now or timezone.now()
    due = set(ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING, expires_at__lte=now)
              .values_list("incident_id", flat=True))
    expired = []
    for incident_id in due:
        with transaction.atomic():
            # The incident first (the order approval_decide uses), so a confirm and the expiry queue.
            incident = Incident.objects.select_for_update().get(pk=incident_id)
            ApprovalRequest.objects.filter(incident_id=incident_id, status=ApprovalRequest.Status.PENDING,
                                           expires_at__lte=now).update(status=ApprovalRequest.Status.EXPIRED)
            if ApprovalRequest.objects.filter(incident_id=incident_id, status=ApprovalRequest.Status.PENDING).exists():
                continue
            if incident.stage != Stage.VALIDATED:
                continue
            incident_transition(incident_id=incident_id, to=Stage.EXPIRED, actor_type=ActorType.ORCHESTRATOR,
                                actor_id="approvals", reason="the approval window passed with no decision")
            expired.append(incident_id)
    return expired


def approvals_escalate(*, now: datetime | None = None) -> list[ApprovalRequest]:
    """Ask the next contact (fresh request and link) where nobody acknowledged or decided in time."""
    now = now or timezone.now()
    created: list[ApprovalRequest] = []
    due = ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING, escalate_at__lte=now,
                                         acknowledged_at__isnull=True, expires_at__gt=now).select_related("incident")
    for approval in due:
        with transaction.atomic():
            if not ApprovalRequest.objects.filter(pk=approval.pk, escalate_at=approval.escalate_at).update(
                    escalate_at=None):
                continue  # another sweep took it
            contacts = contacts_in_escalation_order()
            ids = [c.pk for c in contacts]
            position = ids.index(approval.contact_id) if approval.contact_id in ids else -1
            if position + 1 >= len(contacts) or approval.incident.stage != Stage.VALIDATED:
                continue
            action = RecoveryAction.objects.filter(name=approval.action_name).first()
            if action is None or not action.enabled or action.webhook_url != approval.payload.get("webhook_url"):
                continue  # what was proposed no longer exists as proposed: a new approval is needed
            try:
                with transaction.atomic():
                    fresh = _request_create(incident=approval.incident, contact=contacts[position + 1],
                                            level=approval.escalation_level + 1, theory=approval.theory,
                                            action=action, expires_at=approval.expires_at, now=now,
                                            frozen=approval)
            except IntegrityError:
                continue
            ledger_append(kind=APPROVAL_ESCALATED, actor_type=ActorType.ORCHESTRATOR, actor_id="approvals",
                          source=Source.SYSTEM, incident_id=approval.incident_id,
                          policy_version=approval.policy_version,
                          reason=f"nobody decided in time; {fresh.contact.name} asked next",
                          body={"from_approval_id": str(approval.pk), "approval_id": str(fresh.pk),
                                "contact_id": fresh.contact_id})
            created.append(fresh)
    return created


def approvals_voice_due(*, now: datetime | None = None) -> list[ApprovalRequest]:
    """Requests whose voice call is due (claimed: each call is placed once)."""
    now = now or timezone.now()
    claimed = []
    for approval in ApprovalRequest.objects.filter(status=ApprovalRequest.Status.PENDING, voice_at__lte=now,
                                                   acknowledged_at__isnull=True, expires_at__gt=now):
        if ApprovalRequest.objects.filter(pk=approval.pk, voice_at=approval.voice_at).update(voice_at=None):
            claimed.append(approval)
    return claimed
