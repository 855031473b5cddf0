"""Deterministic detection policy: pure functions from observations to decisions. No I/O.

The policy alone decides whether an incident exists, when the service has recovered, and
whether a recovery action is warranted. The AI never does: its output is only ever shown.
Every threshold is named here; a tenant's overrides (Platform and Enterprise tiers) produce a
new policy version, and an incident keeps the version it was opened under.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from incidents.observation import Observation

POLICY_REVISION = "2026.12"


class ThresholdError(ValueError):
    """An override names an unknown threshold or a value outside its allowed range."""


@dataclass(frozen=True)
class Thresholds:
    # Opening: any one condition makes a poll "degraded" (latency-only and error-only count).
    open_score: float = 70.0  # health score below this
    open_error_rate: float = 0.10  # 5xx fraction above this
    open_p95_ms: float = 2000.0  # P95 above this floor ...
    baseline_p95_factor: float = 4.0  # ... or above this multiple of the learned baseline, whichever is higher
    # Recovery: every condition must hold.
    recover_score: float = 70.0
    recover_error_rate: float = 0.05
    # A recovery action is warranted (VALIDATED) when either holds.
    validate_score: float = 40.0
    validate_error_rate: float = 0.20
    # AI diagnoses below this confidence are not shown as the explanation.
    confidence_gate: float = 0.60
    # Flap control.
    open_after_bad_polls: int = 2
    recover_after_good_polls: int = 3
    unreachable_after_polls: int = 3
    # Human decision windows (seconds).
    approval_window_s: int = 300
    escalation_after_s: int = 120
    voice_after_s: int = 180

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)

    def with_overrides(self, overrides: dict[str, Any]) -> Thresholds:
        """A copy with ``overrides`` applied, each validated against :data:`LIMITS`."""
        known = {f.name: f.type for f in fields(self)}
        clean: dict[str, float | int] = {}
        for name, raw in overrides.items():
            if name not in known:
                raise ThresholdError(f"unknown threshold {name!r}")
            low, high = LIMITS[name]
            if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
                raise ThresholdError(f"{name} must be a number")
            if not low <= raw <= high:
                raise ThresholdError(f"{name} must be between {low} and {high}, got {raw}")
            clean[name] = int(raw) if known[name] in (int, "int") else float(raw)
        return replace(self, **clean)


LIMITS: dict[str, tuple[float, float]] = {
    "open_score": (1, 99),
    "open_error_rate": (0.001, 0.99),
    "open_p95_ms": (10, 600_000),
    "baseline_p95_factor": (1.2, 100),
    "recover_score": (1, 99),
    "recover_error_rate": (0.0, 0.99),
    "validate_score": (0, 99),
    "validate_error_rate": (0.001, 1.0),
    "confidence_gate": (0.0, 1.0),
    "open_after_bad_polls": (1, 60),
    "recover_after_good_polls": (1, 120),
    "unreachable_after_polls": (1, 120),
    "approval_window_s": (60, 3600),
    "escalation_after_s": (30, 3600),
    "voice_after_s": (30, 3600),
}

DEFAULT = Thresholds()


class Verdict:
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    MARGINAL = "marginal"  # neither degraded nor fully healthy: resets both streaks
    NO_DATA = "no_data"  # unreachable, or a payload we could not use


class IncidentKind:
    DEGRADED = "degraded"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Baseline:
    """Learned normal behaviour of one service (EMA over healthy polls)."""

    p95_ms: float | None = None
    error_rate: float | None = None


@dataclass(frozen=True)
class Streaks:
    bad: int = 0
    good: int = 0
    no_data: int = 0


@dataclass(frozen=True)
class Assessment:
    verdict: str
    reasons: tuple[str, ...]
    warranted: bool  # a recovery action would be justified by this observation


@dataclass(frozen=True)
class Decision:
    assessment: Assessment
    streaks: Streaks
    open_kind: str | None = None  # open an incident of this kind
    recover: bool = False  # the active incident's service has recovered
    validate: bool = False  # a recovery action is warranted for the active incident
    learn_baseline: bool = False

    @property
    def explanation(self) -> str:
        return "; ".join(self.assessment.reasons)


def latency_threshold_ms(thresholds: Thresholds, baseline: Baseline) -> float:
    if baseline.p95_ms is None:
        return thresholds.open_p95_ms
    return max(thresholds.open_p95_ms, thresholds.baseline_p95_factor * baseline.p95_ms)


def assess(observation: Observation, thresholds: Thresholds, baseline: Baseline) -> Assessment:
    """Classify one observation, with the plain-English reasons."""
    if not observation.usable:
        what = "unreachable" if observation.kind == "unreachable" else "reported an unusable payload"
        return Assessment(Verdict.NO_DATA, (f"service {what}: {observation.reason}",), warranted=True)
    t = thresholds
    limit_ms = latency_threshold_ms(t, baseline)
    score, errors, p95 = observation.score, observation.error_rate, observation.p95_ms
    reasons: list[str] = []
    if score is not None and score < t.open_score:
        reasons.append(f"health score {score:.0f}/100 is below {t.open_score:.0f}")
    if errors is not None and errors > t.open_error_rate:
        reasons.append(f"error rate {errors:.1%} is above {t.open_error_rate:.1%}")
    if p95 is not None and p95 > limit_ms:
        reasons.append(f"P95 latency {p95:.0f} ms is above {limit_ms:.0f} ms")
    if observation.status == "critical" and not reasons:
        reasons.append("the service reports status critical")
    warranted = (score is not None and score < t.validate_score) or (
        errors is not None and errors > t.validate_error_rate
    ) or (p95 is not None and p95 > 2 * limit_ms)
    if reasons:
        return Assessment(Verdict.DEGRADED, tuple(reasons), warranted)
    healthy = (
        (score is None or score > t.recover_score)
        and (errors is None or errors < t.recover_error_rate)
        and (p95 is None or p95 <= limit_ms)
        and observation.status != "critical"
    )
    if healthy:
        return Assessment(Verdict.HEALTHY, ("service is healthy",), False)
    return Assessment(Verdict.MARGINAL, ("service is near its thresholds",), False)


def next_streaks(streaks: Streaks, verdict: str) -> Streaks:
    if verdict == Verdict.DEGRADED:
        return Streaks(bad=streaks.bad + 1)
    if verdict == Verdict.HEALTHY:
        return Streaks(good=streaks.good + 1)
    if verdict == Verdict.NO_DATA:
        return Streaks(no_data=streaks.no_data + 1)
    return Streaks()


def decide(
    *,
    observation: Observation,
    streaks: Streaks,
    thresholds: Thresholds,
    baseline: Baseline,
    active_kind: str | None,
) -> Decision:
    """What to do after one poll of a service, given its streaks and its active incident (if any)."""
    assessment = assess(observation, thresholds, baseline)
    new = next_streaks(streaks, assessment.verdict)
    if active_kind is None:
        open_kind = None
        if new.bad >= thresholds.open_after_bad_polls:
            open_kind = IncidentKind.DEGRADED
        elif new.no_data >= thresholds.unreachable_after_polls:
            open_kind = IncidentKind.UNREACHABLE
        learn = assessment.verdict == Verdict.HEALTHY
        return Decision(assessment, new, open_kind=open_kind, learn_baseline=learn)
    recover = new.good >= thresholds.recover_after_good_polls
    validate = not recover and assessment.warranted and (
        assessment.verdict == Verdict.DEGRADED or active_kind == IncidentKind.UNREACHABLE
    )
    return Decision(assessment, new, recover=recover, validate=validate)


def baseline_learn(baseline: Baseline, observation: Observation, *, elapsed_s: float, tau_s: float) -> Baseline:
    """Exponential moving average with time constant ``tau_s``, for a healthy observation."""
    alpha = 1.0 - math.exp(-max(elapsed_s, 0.0) / tau_s) if baseline.p95_ms is not None else 1.0

    def ema(old: float | None, new: float | None) -> float | None:
        if new is None:
            return old
        if old is None:
            return new
        return old + alpha * (new - old)

    return Baseline(p95_ms=ema(baseline.p95_ms, observation.p95_ms),
                    error_rate=ema(baseline.error_rate, observation.error_rate))
