"""Writes of the incident pipeline: policy versions, observations, opening and transitions.

Every stage change goes through :func:`incident_transition`, which checks the transition table
and writes the projection and its ledger entry in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from billing.selectors import entitlements
from billing.services import incident_quota_consume
from incidents import policy
from incidents.events import (
    INCIDENT_DIAGNOSED,
    INCIDENT_OPENED,
    INCIDENT_STAGE_CHANGED,
    POLICY_VERSION_CREATED,
    QUOTA_REACHED,
)
from incidents.models import Incident, IncidentObservation, PolicyVersion, ServiceHealth
from incidents.observation import Observation
from incidents.state import ACTIVE, CLOSED, Stage, check_transition
from ledger.models import ActorType, Source
from ledger.services import ledger_append
from tenants.models import Tenant

BASELINE_TAU_S = 6 * 3600.0  # the baseline forgets over hours, not minutes


class PolicyOverrideNotAllowedError(PermissionError):
    """The tenant's plan does not include custom policy thresholds."""


class ApprovalRequiredError(PermissionError):
    """AUTHORIZED can only be reached with a consumed approval for this incident."""


class ConsumedApproval(Protocol):
    """What :func:`incident_transition` checks before AUTHORIZED (see the approvals service)."""

    pk: uuid.UUID
    incident_id: uuid.UUID
    decision: str
    consumed_at: datetime | None


# ---------------------------------------------------------------- policy versions


def policy_current() -> PolicyVersion:
    """The policy version in force; version 1 (the defaults) is created on first use."""
    current = PolicyVersion.objects.order_by("-number").first()
    if current is not None:
        return current
    with transaction.atomic():
        _lock("policy")
        current = PolicyVersion.objects.order_by("-number").first()
        if current is None:
            current = _policy_version_create(overrides={}, actor_type=ActorType.SYSTEM, actor_id="defaults",
                                             reason="default thresholds", source=Source.SYSTEM)
    return current


def policy_thresholds(version: PolicyVersion) -> policy.Thresholds:
    return policy.DEFAULT.with_overrides(version.thresholds)


def policy_override(*, overrides: dict[str, Any], actor_id: str, reason: str, source: str = Source.ADMIN
                    ) -> PolicyVersion:
    """Create the next policy version with ``overrides`` (Platform and Enterprise tiers only)."""
    plan = entitlements(tenant=_current_tenant())
    if not plan.allows("custom_policy"):
        raise PolicyOverrideNotAllowedError(
            f"custom policy thresholds are not part of the {plan.tier_name} plan (Platform and Enterprise have them)"
        )
    policy.DEFAULT.with_overrides(overrides)  # validates; raises ThresholdError with a clear message
    with transaction.atomic():
        _lock("policy")
        return _policy_version_create(overrides=overrides, actor_type=ActorType.ENGINEER, actor_id=actor_id,
                                      reason=reason, source=source)


def _policy_version_create(*, overrides, actor_type, actor_id, reason, source) -> PolicyVersion:
    last = PolicyVersion.objects.order_by("-number").first()
    thresholds = policy.DEFAULT.with_overrides(overrides).as_dict()
    version = PolicyVersion.objects.create(number=(last.number + 1) if last else 1, overrides=overrides,
                                           thresholds=thresholds, created_by=actor_id, reason=reason)
    ledger_append(kind=POLICY_VERSION_CREATED, actor_type=actor_type, actor_id=actor_id, source=source,
                  reason=reason, policy_version=version.label,
                  body={"number": version.number, "overrides": overrides, "thresholds": thresholds})
    return version


def _current_tenant() -> Tenant:
    """The connection's tenant as a model instance (``schema_context`` only provides a stand-in)."""
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, Tenant):
        return tenant
    return Tenant.objects.get(schema_name=connection.schema_name)


def _lock(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"{name}:{connection.schema_name}"])


# ---------------------------------------------------------------- observations


@dataclass(frozen=True)
class ObserveResult:
    decision: policy.Decision
    incident: Incident | None  # the service's active incident after this observation, if any
    opened: bool = False


def service_observe(*, service, observation: Observation, now: datetime | None = None) -> ObserveResult:
    """Apply one poll's observation: streaks, baseline, and open / validate / recover."""
    now = now or timezone.now()
    with transaction.atomic():
        health, _ = ServiceHealth.objects.select_for_update().get_or_create(service=service)
        active = Incident.objects.select_for_update().filter(service=service, stage__in=list(ACTIVE)).first()
        version = None if active else policy_current()
        thresholds = policy.DEFAULT.with_overrides(active.thresholds) if active else policy_thresholds(version)
        baseline = policy.Baseline(p95_ms=health.baseline_p95_ms, error_rate=health.baseline_error_rate)
        streaks = policy.Streaks(bad=health.streak_bad, good=health.streak_good, no_data=health.streak_no_data)
        decision = policy.decide(observation=observation, streaks=streaks, thresholds=thresholds,
                                 baseline=baseline, active_kind=active.kind if active else None)

        _health_apply(health, decision, observation, baseline, now)
        health.save()

        if active is not None:
            IncidentObservation.objects.create(incident=active, observed_at=now, verdict=decision.assessment.verdict,
                                               score=observation.score, error_rate=observation.error_rate,
                                               p95_ms=observation.p95_ms)
            if decision.recover:
                active = incident_transition(incident_id=active.id, to=Stage.RECOVERED, actor_type=ActorType.POLICY,
                                             reason=f"{thresholds.recover_after_good_polls} consecutive healthy polls")
                return ObserveResult(decision, None)
            if decision.validate and active.stage == Stage.PROPOSED:
                active = incident_transition(incident_id=active.id, to=Stage.VALIDATED, actor_type=ActorType.POLICY,
                                             reason=f"recovery action warranted: {decision.explanation}")
            return ObserveResult(decision, active)
        if decision.open_kind:
            incident = _incident_open(service=service, kind=decision.open_kind, decision=decision,
                                      observation=observation, version=version, thresholds=thresholds, now=now)
            if incident is not None:
                IncidentObservation.objects.create(incident=incident, observed_at=now,
                                                   verdict=decision.assessment.verdict, score=observation.score,
                                                   error_rate=observation.error_rate, p95_ms=observation.p95_ms)
            return ObserveResult(decision, incident, opened=incident is not None)
    return ObserveResult(decision, None)


def services_observe(*, observed: list[tuple[Any, Observation]], now: datetime | None = None) -> list[ObserveResult]:
    """Apply one tick's observations of many services of this tenant.

    The common case — no active incident and nothing to open — is decided in memory and written
    with one bulk UPDATE; everything else (a service seen for the first time, an active incident,
    an incident to open) goes through :func:`service_observe` with its row locks. A service is
    never polled twice at once (the poll task holds a per-service lock), so the unlocked fast path
    only ever races with itself when Redis is down, and then only on streak counters.
    """
    now = now or timezone.now()
    ids = [service.pk for service, _ in observed]
    healths = {h.service_id: h for h in ServiceHealth.objects.filter(service_id__in=ids)}
    missing = [ServiceHealth(service_id=pk) for pk in ids if pk not in healths]
    if missing:  # first poll of these services: create their rows in one statement
        ServiceHealth.objects.bulk_create(missing, ignore_conflicts=True)
        healths.update({h.service_id: h for h in ServiceHealth.objects.filter(service_id__in=[m.service_id
                                                                                              for m in missing])})
    busy = set(Incident.objects.filter(service_id__in=ids, stage__in=list(ACTIVE)).values_list("service_id",
                                                                                               flat=True))
    thresholds = policy_thresholds(policy_current())
    quick: list[ServiceHealth] = []
    results: list[ObserveResult] = []
    for service, observation in observed:
        health = healths.get(service.pk)
        if health is None or service.pk in busy:
            results.append(service_observe(service=service, observation=observation, now=now))
            continue
        baseline = policy.Baseline(p95_ms=health.baseline_p95_ms, error_rate=health.baseline_error_rate)
        streaks = policy.Streaks(bad=health.streak_bad, good=health.streak_good, no_data=health.streak_no_data)
        decision = policy.decide(observation=observation, streaks=streaks, thresholds=thresholds,
                                 baseline=baseline, active_kind=None)
        if decision.open_kind:
            results.append(service_observe(service=service, observation=observation, now=now))
            continue
        _health_apply(health, decision, observation, baseline, now)
        quick.append(health)
        results.append(ObserveResult(decision, None))
    if quick:
        ServiceHealth.objects.bulk_update(quick, fields=_HEALTH_FIELDS)
    return results


_HEALTH_FIELDS = ["streak_bad", "streak_good", "streak_no_data", "last_polled_at", "last_verdict",
                  "last_observation", "baseline_p95_ms", "baseline_error_rate", "baseline_updated_at"]


def _health_apply(health: ServiceHealth, decision: policy.Decision, observation: Observation,
                  baseline: policy.Baseline, now: datetime) -> None:
    health.streak_bad, health.streak_good = decision.streaks.bad, decision.streaks.good
    health.streak_no_data = decision.streaks.no_data
    health.last_polled_at, health.last_verdict = now, decision.assessment.verdict
    health.last_observation = observation.as_dict()
    if decision.learn_baseline:
        elapsed = (now - health.baseline_updated_at).total_seconds() if health.baseline_updated_at else 0.0
        learned = policy.baseline_learn(baseline, observation, elapsed_s=elapsed, tau_s=BASELINE_TAU_S)
        health.baseline_p95_ms, health.baseline_error_rate = learned.p95_ms, learned.error_rate
        health.baseline_updated_at = now


def _incident_open(*, service, kind: str, decision: policy.Decision, observation: Observation,
                   version: PolicyVersion, thresholds: policy.Thresholds, now: datetime) -> Incident | None:
    title = f"{service.name} {'unreachable' if kind == Incident.Kind.UNREACHABLE else 'degraded'}"
    try:
        with transaction.atomic():
            incident = Incident.objects.create(
                service=service, kind=kind, stage=Stage.DETECTED, title=title, explanation=decision.explanation,
                policy_version=version.label, thresholds=thresholds.as_dict(), opened_at=now, updated_at=now,
                opening_observation=observation.as_dict(),
            )
    except IntegrityError:
        return None  # another worker opened this service's incident first
    quota = incident_quota_consume(tenant=_current_tenant())
    opened = ledger_append(
        kind=INCIDENT_OPENED, actor_type=ActorType.POLICY, actor_id=version.label, source=Source.SYSTEM,
        incident_id=incident.id, stage_to=Stage.DETECTED, reason=decision.explanation, policy_version=version.label,
        body={
            "service_id": service.pk, "service_name": service.name, "kind": kind, "title": title,
            "thresholds": incident.thresholds, "observation": incident.opening_observation,
            "quota": {"count": quota.count, "limit": quota.limit, "within_quota": quota.within_quota,
                      "overage": quota.overage},
        },
    )
    # The projection carries the ledger's own time, so a rebuild reproduces it exactly.
    incident.alerts_allowed = quota.within_quota
    incident.opened_at = incident.updated_at = opened.recorded_at
    incident.save(update_fields=["alerts_allowed", "opened_at", "updated_at"])
    if quota.first_over_quota:
        ledger_append(kind=QUOTA_REACHED, actor_type=ActorType.BILLING, actor_id="quota", source=Source.SYSTEM,
                      incident_id=incident.id, reason=f"incident quota of {quota.limit} reached for this period",
                      body={"count": quota.count, "limit": quota.limit})
    from incidents import tasks

    transaction.on_commit(lambda: tasks.incident_diagnose.delay(str(incident.id)))
    return incident


# ---------------------------------------------------------------- transitions


def incident_transition(
    *,
    incident_id: uuid.UUID | str,
    to: Stage,
    actor_type: str,
    actor_id: str = "",
    source: str = Source.SYSTEM,
    reason: str = "",
    confidence: float | None = None,
    body: dict[str, Any] | None = None,
    approval: ConsumedApproval | None = None,
) -> Incident:
    """Move an incident to ``to`` if the table allows it; projection and ledger in one transaction.

    Raises :class:`incidents.state.TransitionRefusedError` for a transition the table refuses, and
    :class:`ApprovalRequiredError` for AUTHORIZED without a consumed approval of this incident.
    """
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        check_transition(incident.stage, to, actor_type)
        if to == Stage.AUTHORIZED:
            body = {**(body or {}), "approval_id": str(_approval_checked(incident, approval))}
        if incident.stage == Stage.WEBHOOK_FAILED and to == Stage.EXECUTED:
            _replay_checked(incident, body or {})
        entry = ledger_append(kind=INCIDENT_STAGE_CHANGED, actor_type=actor_type, actor_id=actor_id, source=source,
                              incident_id=incident.id, stage_from=incident.stage, stage_to=to, confidence=confidence,
                              reason=reason, policy_version=incident.policy_version, body=body or {})
        incident.stage, incident.updated_at = to, entry.recorded_at
        if to in CLOSED:
            incident.closed_at = entry.recorded_at
        incident.save(update_fields=["stage", "updated_at", "closed_at"])
        if to in (Stage.PROPOSED, Stage.VALIDATED):
            from incidents import notify_tasks

            transaction.on_commit(lambda: notify_tasks.incident_stage_notify.delay(str(incident.id), to.value),
                                  robust=True)
    return incident


def _approval_checked(incident: Incident, approval: ConsumedApproval | None) -> uuid.UUID:
    """The approval, re-read and locked: consumed, approving, of this incident, under its policy, unused."""
    from incidents.models import ApprovalRequest, Execution

    if approval is None or getattr(approval, "pk", None) is None:
        raise ApprovalRequiredError("AUTHORIZED needs a consumed approval of this incident")
    stored = ApprovalRequest.objects.select_for_update().filter(pk=approval.pk).first()
    if (
        stored is None
        or stored.incident_id != incident.id
        or stored.decision != "approve"
        or stored.consumed_at is None
        or stored.policy_version != incident.policy_version
        or Execution.objects.filter(approval_id=stored.pk).exists()
    ):
        raise ApprovalRequiredError("AUTHORIZED needs a consumed, unused approval of this incident under its policy")
    return stored.pk


def _replay_checked(incident: Incident, body: dict[str, Any]) -> None:
    """WEBHOOK_FAILED → EXECUTED only for an execution a tenant admin authorized a replay of."""
    from incidents.models import DeadLetter

    execution_id = body.get("execution_id")
    if not execution_id or not DeadLetter.objects.filter(
        incident=incident, execution_id=execution_id, replayed_at__isnull=False
    ).exists():
        raise ApprovalRequiredError("a failed webhook is executed again only after a replay was authorized")


def incident_explain(*, incident_id: uuid.UUID | str, diagnosis: dict[str, Any], actor_type: str, actor_id: str,
                     confidence: float | None, reason: str) -> Incident:
    """Attach an explanation (the AI's, or the policy's own) to an incident, recorded in the ledger."""
    with transaction.atomic():
        incident = Incident.objects.select_for_update().get(pk=incident_id)
        incident.diagnosis = diagnosis
        incident.save(update_fields=["diagnosis"])
        ledger_append(kind=INCIDENT_DIAGNOSED, actor_type=actor_type, actor_id=actor_id, source=Source.SYSTEM,
                      incident_id=incident.id, confidence=confidence, reason=reason,
                      policy_version=incident.policy_version, body=diagnosis)
    return incident


def incident_propose(*, incident_id: uuid.UUID | str) -> Incident | None:
    """Attach the explanation and move DETECTED → PROPOSED, then VALIDATED when warranted.

    The explanation is the AI's when the plan includes it, a key is configured and its answer is
    usable and above the confidence gate (the PROPOSED transition's actor is then ``claude``);
    otherwise it is the policy's own (actor ``policy``, confidence 0). The models are asked
    before the transaction, so a slow model holds no row lock. VALIDATED is always the policy's
    decision. Running it again for an incident past DETECTED changes nothing.
    """
    from incidents.diagnosis.service import diagnosis_opening, runs_record

    incident = Incident.objects.filter(pk=incident_id).select_related("service").first()
    if incident is None or incident.stage != Stage.DETECTED:
        return incident
    outcome = diagnosis_opening(incident=incident)
    proposer_confidence = outcome.confidence if outcome.proposer == ActorType.CLAUDE else 0.0
    proposer_id = outcome.actor_id if outcome.proposer == ActorType.CLAUDE else incident.policy_version
    with transaction.atomic():
        if Incident.objects.select_for_update().get(pk=incident.id).stage != Stage.DETECTED:
            return Incident.objects.get(pk=incident.id)  # another worker proposed it meanwhile
        incident_explain(incident_id=incident.id, diagnosis=outcome.diagnosis, actor_type=outcome.actor_type,
                         actor_id=outcome.actor_id, confidence=outcome.confidence, reason=outcome.reason)
        incident = incident_transition(incident_id=incident.id, to=Stage.PROPOSED, actor_type=outcome.proposer,
                                       actor_id=proposer_id, confidence=proposer_confidence,
                                       reason=("proposed with the AI's explanation" if outcome.proposer ==
                                               ActorType.CLAUDE else "proposed with the policy's own explanation"))
        if _action_warranted(incident):
            incident = incident_transition(incident_id=incident.id, to=Stage.VALIDATED, actor_type=ActorType.POLICY,
                                           actor_id=incident.policy_version,
                                           reason="recovery action warranted by the latest observation")
        runs_record(incident=incident, outcome=outcome, round_number=1, trigger="incident opened",
                    stage=incident.stage)
    return incident


def _action_warranted(incident: Incident) -> bool:
    """Whether the service's latest observation warrants a recovery action, under the incident's policy."""
    if incident.kind == Incident.Kind.UNREACHABLE:
        return True
    health = ServiceHealth.objects.filter(service_id=incident.service_id).first()
    observation = _observation_from_dict(health.last_observation if health else incident.opening_observation)
    thresholds = policy.DEFAULT.with_overrides(incident.thresholds)
    baseline = policy.Baseline(p95_ms=health.baseline_p95_ms if health else None,
                               error_rate=health.baseline_error_rate if health else None)
    return policy.assess(observation, thresholds, baseline).warranted


def _observation_from_dict(data: dict[str, Any]) -> Observation:
    from incidents.observation import Alert

    known = {f for f in Observation.__dataclass_fields__}
    values = {k: v for k, v in data.items() if k in known}
    values["alerts"] = tuple(Alert(**a) for a in values.get("alerts", []))
    return Observation(**values) if "kind" in values else Observation(kind="invalid", reason="no observation")
