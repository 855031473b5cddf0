"""Diagnosis against the database: context, plan gates, rounds, usage and the ledger.

:func:`diagnosis_opening` is called by ``incidents.services.incident_propose`` before it moves a
DETECTED incident to PROPOSED; it never raises and never touches a stage. :func:`diagnosis_refresh`
re-diagnoses an active incident only on a material change (its stage changed, or its metrics
shifted a lot) and at most ``DIAGNOSIS_MAX_ROUNDS`` times; it only ever replaces the explanation.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum

from billing.selectors import entitlements
from incidents import policy
from incidents.diagnosis import claude, council, engine
from incidents.diagnosis.claude import Turn
from incidents.diagnosis.council import Attempt
from incidents.diagnosis.engine import Outcome
from incidents.diagnosis.prompt import DiagnosisContext, opening_turn, update_turn
from incidents.events import INCIDENT_DIAGNOSIS_FAILED
from incidents.models import DiagnosisRun, Incident, ServiceHealth
from incidents.state import ACTIVE, Stage
from ledger.models import ActorType, Source
from ledger.services import ledger_append
from saas import degraded

logger = logging.getLogger(__name__)

# What counts as a material change of metrics between two rounds.
SCORE_SHIFT = 20.0
ERROR_RATE_SHIFT = 0.10
P95_RATIO = 1.5
_HISTORY_INCIDENTS = 5


def _tenant():
    from incidents.services import _current_tenant

    return _current_tenant()


def _plan_mode() -> tuple[str | None, str]:
    """``(None, why)`` when AI is off for this tenant, else ``("single" | "council", "")``."""
    plan = entitlements(tenant=_tenant())
    if not plan.allows("ai_diagnosis"):
        return None, f"AI diagnosis is not part of the {plan.tier_name} plan; this is the policy's explanation."
    if not claude.api_key_configured():
        return None, "AI diagnosis is not configured (no API key); this is the policy's explanation."
    if degraded.suppressed("ai_diagnosis"):
        return None, "AI diagnosis is paused while the platform is degraded; this is the policy's explanation."
    if plan.allows("council") and settings.COUNCIL_ENABLED and not degraded.suppressed("council"):
        return "council", ""
    return "single", ""


def _gate(incident: Incident) -> float:
    return policy.DEFAULT.with_overrides(incident.thresholds).confidence_gate


def _latest_observation(incident: Incident) -> tuple[dict[str, Any], dict[str, Any]]:
    health = ServiceHealth.objects.filter(service_id=incident.service_id).first()
    observation = (health.last_observation if health and health.last_observation else incident.opening_observation)
    baseline = {"p95_ms": health.baseline_p95_ms if health else None,
                "error_rate": health.baseline_error_rate if health else None}
    return dict(observation or {}), baseline


def diagnosis_context(incident: Incident) -> DiagnosisContext:
    """The incident's facts as the model sees them: observation, baseline, commits, history, actions."""
    from incidents.commits import incident_commits
    from tenants.configuration.models import RecoveryAction

    observation, baseline = _latest_observation(incident)
    commits = [
        {"sha": c.short_sha, "message": c.message[:500], "author": c.author, "minutes_before_opening": c.minutes_before,
         "touched_database_code": c.touched_db, "files": list(c.files[:20])}
        for c in incident_commits(incident=incident)
    ]
    earlier = (Incident.objects.filter(service_id=incident.service_id).exclude(pk=incident.pk)
               .order_by("-opened_at")[:_HISTORY_INCIDENTS])
    history = [{"opened_at": i.opened_at.isoformat(), "kind": i.kind, "final_stage": i.stage,
                "category": (i.diagnosis or {}).get("category"),
                "likely_cause": (i.diagnosis or {}).get("likely_cause")} for i in earlier]
    actions = tuple((a.name, a.description[:200]) for a in RecoveryAction.objects.filter(enabled=True))
    return DiagnosisContext(
        service_name=incident.service.name, title=incident.title, kind=incident.kind, stage=incident.stage,
        opened_at=incident.opened_at.isoformat(), policy_explanation=incident.explanation, observation=observation,
        baseline=baseline, commits=commits, history=history, allowed_actions=actions,
    )


def _history(incident: Incident, role: str) -> list[Turn]:
    runs = DiagnosisRun.objects.filter(incident=incident, role=role, ok=True).order_by("round")
    return [Turn(prompt=r.prompt, answer=r.answer or {}, tool_use_id=f"toolu_ae{r.pk:012d}") for r in runs]


def _consult(incident: Incident, *, mode: str, prompt: str, context: DiagnosisContext) -> Outcome:
    gate = _gate(incident)
    if mode == "council":
        a, b = council.convene(models=(settings.COUNCIL_MODEL_A, settings.COUNCIL_MODEL_B), prompt=prompt,
                               histories=(_history(incident, "A"), _history(incident, "B")),
                               allowed_actions=context.action_names)
        for answered in (a, b):
            degraded.record("ai", ok=answered.failure is None)
        return engine.council_outcome(a=a, b=b, gate=gate, explanation=incident.explanation,
                                      policy_version=incident.policy_version)
    single = council.attempt(role="single", model=settings.DIAGNOSIS_MODEL, lens=None, prompt=prompt,
                             history=_history(incident, "single"), allowed_actions=context.action_names)
    degraded.record("ai", ok=single.failure is None)
    return engine.single_outcome(attempt=single, gate=gate, explanation=incident.explanation,
                                 policy_version=incident.policy_version)


def diagnosis_opening(*, incident: Incident) -> Outcome:
    """The opening diagnosis of a DETECTED incident: the AI's when allowed and usable, else the policy's.

    Never raises: whatever goes wrong here, detection and alerting go on with the policy's explanation.
    """
    try:
        mode, why = _plan_mode()
        if not incident.alerts_allowed:  # past a no-overage quota: recorded, neither alerted nor diagnosed
            mode, why = None, "The plan's incident quota for this period is used up; this is the policy's explanation."
        if mode is None:
            return engine.policy_outcome(explanation=incident.explanation, policy_version=incident.policy_version,
                                         note=why)
        context = diagnosis_context(incident)
        return _consult(incident, mode=mode, prompt=opening_turn(context), context=context)
    except Exception as exc:  # the fail-safe: an AI-side bug must not stop the incident
        logger.exception("diagnosis of incident %s failed; using the policy's explanation", incident.pk)
        return engine.policy_outcome(explanation=incident.explanation, policy_version=incident.policy_version,
                                     note=f"AI diagnosis unavailable: internal error ({type(exc).__name__}); "
                                          "this is the policy's explanation.")


def runs_record(*, incident: Incident, outcome: Outcome, round_number: int, trigger: str, stage: str) -> None:
    """Keep each model call of a round: its answer (for later rounds) and its token usage."""
    observation, _ = _latest_observation(incident)
    DiagnosisRun.objects.bulk_create([_run(incident, a, round_number, trigger, stage, observation)
                                      for a in outcome.attempts])


def _run(incident: Incident, attempt: Attempt, round_number: int, trigger: str, stage: str,
         observation: dict[str, Any]) -> DiagnosisRun:
    return DiagnosisRun(
        incident=incident, round=round_number, role=attempt.role, model=attempt.model[:100], trigger=trigger[:200],
        ok=attempt.theory is not None, error=(attempt.failure or "")[:300], input_tokens=attempt.input_tokens,
        output_tokens=attempt.output_tokens, prompt=attempt.prompt,
        answer=attempt.theory.answer() if attempt.theory else None, observation=observation, stage=stage,
    )


def material_change(*, before_stage: str, before: dict[str, Any], stage: str, now: dict[str, Any]) -> str | None:
    """Why the incident deserves a new diagnosis, or ``None`` when nothing material changed."""
    if stage != before_stage:
        return f"stage changed from {before_stage} to {stage}"
    if before.get("kind") != now.get("kind"):
        return f"the service went from {before.get('kind')} to {now.get('kind')}"
    score_a, score_b = before.get("score"), now.get("score")
    if isinstance(score_a, int | float) and isinstance(score_b, int | float) and abs(score_b - score_a) >= SCORE_SHIFT:
        return f"health score moved from {score_a:.0f} to {score_b:.0f}"
    err_a, err_b = before.get("error_rate"), now.get("error_rate")
    if isinstance(err_a, int | float) and isinstance(err_b, int | float) and abs(err_b - err_a) >= ERROR_RATE_SHIFT:
        return f"error rate moved from {err_a:.0%} to {err_b:.0%}"
    p95_a, p95_b = before.get("p95_ms"), now.get("p95_ms")
    if isinstance(p95_a, int | float) and isinstance(p95_b, int | float) and p95_a > 0 and p95_b > 0:
        ratio = p95_b / p95_a
        if ratio >= P95_RATIO or ratio <= 1 / P95_RATIO:
            return f"P95 latency moved from {p95_a:.0f} ms to {p95_b:.0f} ms"
    return None


def diagnosis_refresh(*, incident_id) -> bool:
    """Re-diagnose an active, already diagnosed incident after a material change; True when it ran.

    The new round sees the earlier rounds as the conversation so far. If every model fails, the
    earlier explanation stays and the failure is recorded in the ledger. Never changes a stage.
    """
    incident = Incident.objects.filter(pk=incident_id).select_related("service").first()
    if incident is None or incident.stage not in ACTIVE or incident.stage == Stage.DETECTED:
        return False
    done = DiagnosisRun.objects.filter(incident=incident).aggregate(last=Max("round"))["last"] or 0
    if done == 0 or done >= settings.DIAGNOSIS_MAX_ROUNDS:
        return False
    last = DiagnosisRun.objects.filter(incident=incident, round=done).first()
    observation, _ = _latest_observation(incident)
    trigger = material_change(before_stage=last.stage, before=last.observation, stage=incident.stage, now=observation)
    if trigger is None:
        return False
    try:
        mode, _why = _plan_mode()
        if mode is None:
            return False
        context = diagnosis_context(incident)
        outcome = _consult(incident, mode=mode, prompt=update_turn(context, trigger=trigger), context=context)
    except Exception:  # the fail-safe, as for the opening diagnosis
        logger.exception("re-diagnosis of incident %s failed", incident.pk)
        return False
    from incidents.services import incident_explain

    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        if DiagnosisRun.objects.filter(incident=incident, round__gt=done).exists():
            return False  # another worker ran this round first
        runs_record(incident=incident, outcome=outcome, round_number=done + 1, trigger=trigger, stage=locked.stage)
        if outcome.actor_type == engine.POLICY:
            ledger_append(kind=INCIDENT_DIAGNOSIS_FAILED, actor_type=ActorType.POLICY,
                          actor_id=incident.policy_version, source=Source.SYSTEM, incident_id=incident.id,
                          confidence=0.0, reason=f"re-diagnosis ({trigger}) failed; the earlier explanation stays",
                          policy_version=incident.policy_version, body={"note": outcome.diagnosis["note"]})
        else:
            incident_explain(incident_id=incident.id, diagnosis={**outcome.diagnosis, "round": done + 1},
                             actor_type=outcome.actor_type, actor_id=outcome.actor_id, confidence=outcome.confidence,
                             reason=f"re-diagnosis: {trigger}")
    return True


def diagnosis_usage() -> dict[str, int]:
    """This tenant's AI usage so far: model calls and tokens in and out."""
    totals = DiagnosisRun.objects.aggregate(input_tokens=Sum("input_tokens"), output_tokens=Sum("output_tokens"))
    return {"calls": DiagnosisRun.objects.count(), "input_tokens": totals["input_tokens"] or 0,
            "output_tokens": totals["output_tokens"] or 0}


def incidents_to_refresh() -> list[str]:
    """Ids of this tenant's active incidents that have had an AI round and may get another."""
    rows = (DiagnosisRun.objects.filter(incident__stage__in=[s.value for s in ACTIVE if s != Stage.DETECTED])
            .values("incident_id").annotate(last=Max("round")).filter(last__lt=settings.DIAGNOSIS_MAX_ROUNDS))
    return [str(r["incident_id"]) for r in rows]
