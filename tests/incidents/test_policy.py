"""The deterministic policy: opening, recovery, validation, flap control, baselines, overrides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.observation import Observation, invalid, unreachable
from incidents.policy import (
    DEFAULT,
    Baseline,
    IncidentKind,
    Streaks,
    ThresholdError,
    Verdict,
    assess,
    baseline_learn,
    decide,
)


def obs(score=95.0, error_rate=0.0, p95=120.0, status="ok") -> Observation:
    return Observation(kind="ok", status=status, score=score, error_rate=error_rate, p95_ms=p95)


NO_BASELINE = Baseline()


def run(observations, *, active_kind=None, thresholds=DEFAULT, baseline=NO_BASELINE):
    streaks = Streaks()
    decisions = []
    for o in observations:
        decision = decide(observation=o, streaks=streaks, thresholds=thresholds, baseline=baseline,
                          active_kind=active_kind)
        streaks = decision.streaks
        decisions.append(decision)
    return decisions


def test_the_product_example_opens_and_warrants_an_action():
    example = obs(score=23, error_rate=0.19, p95=2847.3, status="critical")
    decisions = run([example, example])
    assert decisions[0].open_kind is None  # one bad poll is not enough
    assert decisions[1].open_kind == IncidentKind.DEGRADED
    assert assess(example, DEFAULT, NO_BASELINE).warranted
    assert "P95 latency 2847 ms is above 2000 ms" in decisions[1].explanation


def test_latency_only_degradation_opens_an_incident():
    slow = obs(score=85, error_rate=0.0, p95=4500)
    assert run([slow, slow])[1].open_kind == IncidentKind.DEGRADED


def test_error_only_degradation_opens_an_incident():
    failing = obs(score=80, error_rate=0.5, p95=15)
    assert run([failing, failing])[1].open_kind == IncidentKind.DEGRADED


def test_a_single_bad_poll_between_good_ones_never_opens():
    decisions = run([obs(), obs(score=20), obs(), obs(score=20), obs()])
    assert all(d.open_kind is None for d in decisions)


def test_repeated_unreachable_polls_open_a_service_unreachable_incident():
    decisions = run([unreachable("connection refused")] * 3)
    assert [d.open_kind for d in decisions] == [None, None, IncidentKind.UNREACHABLE]
    assert "unreachable: connection refused" in decisions[-1].explanation
    assert run([invalid("payload is not valid JSON")] * 3)[-1].open_kind == IncidentKind.UNREACHABLE


def test_recovery_needs_consecutive_healthy_polls():
    decisions = run([obs(), obs(), obs(score=60), obs(), obs(), obs()], active_kind=IncidentKind.DEGRADED)
    assert [d.recover for d in decisions] == [False, False, False, False, False, True]


def test_recovery_requires_low_error_rate_as_well_as_score():
    decisions = run([obs(score=90, error_rate=0.07)] * 5, active_kind=IncidentKind.DEGRADED)
    assert not any(d.recover for d in decisions)
    assert decisions[0].assessment.verdict == Verdict.MARGINAL


@pytest.mark.parametrize(("observation", "warranted"), [
    (obs(score=39), True), (obs(score=55), False), (obs(score=65, error_rate=0.21), True),
    (obs(score=65, error_rate=0.15), False), (obs(score=80, p95=4100), True),
])
def test_an_action_is_warranted_by_score_below_40_or_errors_above_20_percent(observation, warranted):
    decision = run([observation], active_kind=IncidentKind.DEGRADED)[0]
    assert decision.validate is warranted


def test_the_baseline_raises_the_latency_threshold_but_never_below_the_floor():
    slow_normal = Baseline(p95_ms=900)
    assert assess(obs(p95=2500), DEFAULT, slow_normal).verdict == Verdict.HEALTHY  # 4 x 900 = 3600
    assert assess(obs(p95=3700), DEFAULT, slow_normal).verdict == Verdict.DEGRADED
    assert assess(obs(p95=2100), DEFAULT, Baseline(p95_ms=10)).verdict == Verdict.DEGRADED  # floor 2000


def test_the_baseline_learns_only_from_healthy_polls_without_an_incident():
    assert run([obs()])[0].learn_baseline
    assert not run([obs(score=20)])[0].learn_baseline
    assert not run([obs()], active_kind=IncidentKind.DEGRADED)[0].learn_baseline


def test_the_baseline_moves_with_a_time_constant_of_hours():
    base = Baseline(p95_ms=100.0, error_rate=0.0)
    after_5s = baseline_learn(base, obs(p95=1100.0), elapsed_s=5, tau_s=6 * 3600)
    assert 100.0 < after_5s.p95_ms < 100.5
    after_a_day = baseline_learn(base, obs(p95=1100.0), elapsed_s=24 * 3600, tau_s=6 * 3600)
    assert after_a_day.p95_ms > 1080


def test_overrides_are_validated():
    custom = DEFAULT.with_overrides({"open_score": 50, "open_after_bad_polls": 4})
    assert custom.open_score == 50.0 and custom.open_after_bad_polls == 4
    with pytest.raises(ThresholdError, match="unknown threshold"):
        DEFAULT.with_overrides({"ai_veto": 1})
    with pytest.raises(ThresholdError, match="between"):
        DEFAULT.with_overrides({"open_error_rate": 3})
    with pytest.raises(ThresholdError, match="number"):
        DEFAULT.with_overrides({"open_score": float("nan")})


@given(
    score=st.one_of(st.none(), st.floats(0, 100)),
    error_rate=st.one_of(st.none(), st.floats(0, 1)),
    p95=st.one_of(st.none(), st.floats(0, 100_000)),
)
def test_a_poll_is_never_both_degraded_and_healthy(score, error_rate, p95):
    if score is None and error_rate is None and p95 is None:
        return
    verdict = assess(obs(score=score, error_rate=error_rate, p95=p95), DEFAULT, NO_BASELINE).verdict
    degraded = (score is not None and score < 70) or (error_rate is not None and error_rate > 0.10) or (
        p95 is not None and p95 > 2000)
    assert (verdict == Verdict.DEGRADED) is degraded
