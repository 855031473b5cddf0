"""From model answers to ``incident.diagnosis``: the confidence gate and the fail-safe (no I/O).

The result says which explanation the alert carries and who is accountable for it: ``claude``
when an AI theory at or above the gate is used, ``policy`` otherwise (below the gate, and when
every model failed or AI is not available), with confidence 0 for the policy's own explanation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from incidents.diagnosis.claude import Theory
from incidents.diagnosis.council import AGREE, DISSENT, SINGLE, Attempt, agreement
from incidents.diagnosis.prompt import LENSES

CLAUDE, POLICY = "claude", "policy"


@dataclass(frozen=True)
class Outcome:
    """The diagnosis to store and how the ledger records it."""

    diagnosis: dict[str, Any]
    actor_type: str  # of the incident.diagnosed entry: claude whenever an AI theory is recorded
    actor_id: str
    confidence: float
    proposer: str  # actor of DETECTED -> PROPOSED: claude only when the AI's explanation is used
    reason: str
    attempts: list[Attempt] = field(default_factory=list)


def policy_outcome(*, explanation: str, policy_version: str, note: str,
                   attempts: list[Attempt] | None = None) -> Outcome:
    """The policy's own explanation, actor policy, confidence 0."""
    diagnosis = {
        "source": POLICY, "agreement": None, "likely_cause": explanation, "category": "unknown",
        "confidence": 0.0, "evidence": [], "checks": [], "suggested_action": None, "gated": False,
        "theories": [], "note": note,
    }
    return Outcome(diagnosis=diagnosis, actor_type=POLICY, actor_id=policy_version, confidence=0.0,
                   proposer=POLICY, reason=note, attempts=list(attempts or []))


def single_outcome(*, attempt: Attempt, gate: float, explanation: str, policy_version: str) -> Outcome:
    """One model's answer, gated; its failure falls back to the policy."""
    if attempt.theory is None:
        return policy_outcome(explanation=explanation, policy_version=policy_version, attempts=[attempt],
                              note=f"AI diagnosis unavailable: {attempt.failure}; this is the policy's explanation.")
    diagnosis = _headline(attempt.theory, source=CLAUDE, agreement=None, gate=gate, explanation=explanation)
    return _ai_outcome(diagnosis, attempts=[attempt], actor_id=attempt.model)


def council_outcome(*, a: Attempt, b: Attempt, gate: float, explanation: str, policy_version: str) -> Outcome:
    """The council's answer: agree, dissent or single; both failing falls back to the policy."""
    verdict = agreement(a, b, gate=gate)
    if verdict is None:
        note = f"AI diagnosis unavailable: model A {a.failure}, model B {b.failure}; this is the policy's explanation."
        return policy_outcome(explanation=explanation, policy_version=policy_version, attempts=[a, b], note=note)
    answered = [(x, x.theory) for x in (a, b) if x.theory is not None]
    # The more confident theory leads; on a tie, model A (the order the alert shows them in).
    lead, lead_theory = max(answered, key=lambda pair: pair[1].confidence)
    diagnosis = _headline(lead_theory, source="council", agreement=verdict, gate=gate, explanation=explanation)
    diagnosis["theories"] = [_theory_entry(x.role, theory) for x, theory in answered]
    if verdict == AGREE:
        diagnosis["confidence"] = min(theory.confidence for _, theory in answered)
        if diagnosis["suggested_action"] is None:
            diagnosis["suggested_action"] = next((t.suggested_action for _, t in answered if t.suggested_action), None)
        diagnosis["note"] = _join(diagnosis["note"], "Both models agree.")
    elif verdict == DISSENT:
        diagnosis["note"] = _join(diagnosis["note"], "The two models disagree: check both theories before approving.")
    else:
        failed = a if a.theory is None else b
        diagnosis["note"] = _join(diagnosis["note"],
                                  f"Only model {lead.role} answered (model {failed.role}: {failed.failure}).")
    return _ai_outcome(diagnosis, attempts=[a, b], actor_id="+".join(x.model for x, _ in answered))


def _headline(theory: Theory, *, source: str, agreement: str | None, gate: float, explanation: str
              ) -> dict[str, Any]:
    gated = theory.confidence < gate
    notes = []
    if theory.discarded_action:
        notes.append(f"The model suggested {theory.discarded_action!r}, which is not one of the enabled recovery "
                     "actions; it was discarded.")
    diagnosis: dict[str, Any] = {
        "source": source, "agreement": agreement, "likely_cause": theory.likely_cause,
        "category": theory.category, "confidence": theory.confidence, "evidence": list(theory.evidence),
        "checks": list(theory.checks), "suggested_action": theory.suggested_action, "gated": gated,
        "theories": [], "model": theory.model,
    }
    if gated:
        # Below the gate the alert carries the policy's explanation; the AI's theory is kept beside it.
        diagnosis.update(likely_cause=explanation, suggested_action=None, ai_likely_cause=theory.likely_cause)
        notes.append(f"The AI was not confident ({theory.confidence:.0%}, below the {gate:.0%} gate); "
                     "this is the policy's explanation.")
    diagnosis["note"] = " ".join(notes)
    return diagnosis


def _theory_entry(label: str, theory: Theory) -> dict[str, Any]:
    return {"label": label, "model": theory.model, "lens": LENSES[label], "likely_cause": theory.likely_cause,
            "category": theory.category, "confidence": theory.confidence,
            "suggested_action": theory.suggested_action, "checks": list(theory.checks),
            "evidence": list(theory.evidence)}


def _ai_outcome(diagnosis: dict[str, Any], *, attempts: list[Attempt], actor_id: str) -> Outcome:
    used = not diagnosis["gated"]
    reason = "AI diagnosis" if used else "AI diagnosis below the confidence gate; policy explanation used"
    if diagnosis["agreement"] in (AGREE, DISSENT, SINGLE):
        reason = f"{reason} (council: {diagnosis['agreement']})"
    return Outcome(diagnosis=diagnosis, actor_type=CLAUDE, actor_id=actor_id[:150],
                   confidence=float(diagnosis["confidence"]), proposer=CLAUDE if used else POLICY,
                   reason=reason, attempts=attempts)


def _join(*parts: str) -> str:
    return " ".join(p for p in parts if p)
