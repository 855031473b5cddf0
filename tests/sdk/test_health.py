"""The health formula: worked examples of docs/sdk.md, invariants, baseline, trend."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sdk_apps import engine_app, get_json, run

from alertengine_sdk import AlertConfig, sketch
from alertengine_sdk.health import Baseline, evaluate
from alertengine_sdk.window import Aggregate, Cell

CONFIG = AlertConfig(service_name="formula")
NO_BASELINE = Baseline()


def window(p95_ms: float, error_rate: float, n: int = 1000) -> Aggregate:
    cell = Cell()
    errors = round(n * error_rate)
    cell.counts[5] = errors
    cell.counts[2] = n - errors
    cell.hist = {sketch.bin_of(p95_ms): n}
    cell.latency_ms_sum = p95_ms * n
    agg = Aggregate()
    agg.add_cells({"/checkout": cell})
    return agg


def payload_for(p95_ms, error_rate, baseline=NO_BASELINE, history=(), config=CONFIG, n=1000):
    return evaluate(window=window(p95_ms, error_rate, n), history=list(history),
                    baseline=baseline, config=config, timestamp=1_800_000_000)


# (name, p95 ms, error rate, baseline p95 or None, expected score, expected status)
WORKED_EXAMPLES = [
    ("healthy service", 180, 0.005, None, 92.5, "healthy"),
    ("fast total outage", 12, 1.0, None, 0.0, "critical"),
    ("slow, no errors", 12_000, 0.0, None, 0.0, "critical"),
    ("product description example", 2847.3, 0.19, None, 12.0, "critical"),
    ("moderately slow", 1800, 0.01, None, 58.0, "degraded"),
    ("anomaly against learned baseline", 350, 0.0, 100, 47.5, "degraded"),
    ("slow service with adaptive thresholds", 2000, 0.0, 900, 66.7, "degraded"),
]


@pytest.mark.parametrize("name,p95,rate,base,score,status", WORKED_EXAMPLES,
                         ids=[e[0] for e in WORKED_EXAMPLES])
def test_worked_examples_of_the_documentation(name, p95, rate, base, score, status):
    baseline = Baseline(base, 0.0, 10) if base else Baseline()
    payload = payload_for(p95, rate, baseline)
    assert payload["health_score"]["score"] == pytest.approx(score, abs=0.6)
    assert payload["health_score"]["status"] == status
    assert payload["status"] == {"healthy": "ok", "degraded": "warning",
                                 "critical": "critical"}[status]


def test_fast_total_outage_is_critical_with_an_error_alert():
    payload = payload_for(5, 1.0)
    assert payload["status"] == "critical"
    assert payload["health_score"]["components"]["errors"] == 0.0
    assert {a["type"]: a["severity"] for a in payload["alerts"]} == {"error_anomaly": "critical"}
    assert payload["actions"][0]["action"] == "restart"


def test_p95_far_above_critical_threshold_is_critical_without_errors():
    payload = payload_for(9_500, 0.0)
    assert payload["status"] == "critical"
    assert payload["alerts"][0]["type"] == "latency_spike"
    assert payload["alerts"][0]["severity"] == "critical"
    assert payload["alerts"][0]["triggered_by"] == "absolute_threshold"


def test_product_example_message_names_the_threshold_it_exceeded():
    payload = payload_for(2847.3, 0.19, n=187)
    assert payload["status"] == "critical"
    latency = next(a for a in payload["alerts"] if a["type"] == "latency_spike")
    assert latency["severity"] == "warning"
    assert "exceeds 1000 ms" in latency["message"]
    assert payload["metrics"]["sample_size"] == 187


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.05, max_value=60_000), st.floats(min_value=0, max_value=1),
       st.one_of(st.none(), st.floats(min_value=1, max_value=5_000)),
       st.integers(min_value=1, max_value=5_000))
def test_statuses_never_contradict_each_other_or_the_alerts(p95, rate, base, n):
    baseline = Baseline(base, 0.0, 10) if base else Baseline()
    payload = payload_for(p95, rate, baseline, n=n)
    hs = payload["health_score"]
    top = {"healthy": "ok", "degraded": "warning", "critical": "critical"}[hs["status"]]
    assert payload["status"] == top
    assert 0 <= hs["score"] <= 100
    if hs["status"] == "critical":
        assert hs["score"] < CONFIG.critical_score
    elif hs["status"] == "degraded":
        assert CONFIG.critical_score <= hs["score"] < CONFIG.degraded_score
    else:
        assert hs["score"] >= CONFIG.degraded_score
    severities = {a["severity"] for a in payload["alerts"]}
    if "critical" in severities:
        assert payload["status"] == "critical"
    if severities:
        assert payload["status"] != "ok"


def test_static_thresholds_stay_a_floor_under_a_fast_baseline():
    payload = payload_for(500, 0.0, Baseline(10, 0.0, 10))
    assert payload["thresholds"]["p95_warning_ms"] == 1000
    assert payload["thresholds"]["p95_critical_ms"] == 3000
    assert payload["thresholds"]["source"] == "absolute_threshold"


def test_rate_of_change_against_preceding_intervals_raises_a_warning():
    history = [window(200, 0.0).overall for _ in range(3)]
    payload = payload_for(600, 0.0, history=history)
    roc = [a for a in payload["alerts"] if a["triggered_by"] == "rate_of_change"]
    assert roc and roc[0]["type"] == "latency_spike"
    assert payload["status"] == "warning"
    assert payload["rate_of_change"]["p95_change_pct"] == pytest.approx(200, abs=5)


def test_too_few_samples_report_insufficient_data():
    payload = payload_for(9_000, 1.0, n=3)
    assert payload["status"] == "ok"
    assert payload["reason"] == "insufficient_data"
    assert payload["alerts"] == []


def test_payload_has_the_contract_fields():
    payload = payload_for(180, 0.0)
    assert {"status", "metrics", "health_score", "alerts", "timestamp", "schema_version",
            "service_name", "window_s", "p50_ms", "p99_ms", "routes"} <= payload.keys()
    assert {"overall_p95_ms", "error_rate", "anomaly_score", "sample_size"} <= \
        payload["metrics"].keys()
    assert {"score", "status", "components", "trend"} <= payload["health_score"].keys()
    assert set(payload["health_score"]["components"]) == {"latency", "errors", "anomalies"}


def feed(engine, *, latency_ms: float, error_share: float, count: int = 100) -> None:
    errors = round(count * error_share)
    for i in range(count):
        engine.recorder.record("/checkout", 500 if i < errors else 200, latency_ms / 1000, 0.0)


def test_baseline_learns_only_from_healthy_intervals(clock):
    app, engine = engine_app(clock, bucket_s=5, window_s=10, history_interval_s=10,
                             baseline_min_intervals=2)
    clock.now = 1_800_000_000.0
    for _ in range(3):
        feed(engine, latency_ms=120, error_share=0.0)
        clock.advance(10)
        engine.tick()
        engine.tick()
    learned = engine.store.baseline
    assert learned.intervals == 3
    assert learned.p95_ms == pytest.approx(120, rel=0.01)
    for _ in range(2):
        feed(engine, latency_ms=5000, error_share=0.5)
        clock.advance(10)
        engine.tick()
        engine.tick()
    assert engine.store.baseline == learned
    status = run(get_json(app, "/__alertengine/status"))
    assert status["baseline"]["intervals"] == 3 and status["baseline"]["active"] is True


def test_trend_comes_from_past_intervals_and_reading_changes_nothing(clock):
    app, engine = engine_app(clock, bucket_s=5, window_s=10, history_interval_s=10,
                             trend_intervals=4)
    for latency in (200, 1400, 2200, 2800):
        feed(engine, latency_ms=latency, error_share=0.0)
        clock.advance(10)
        engine.tick()
    feed(engine, latency_ms=3500, error_share=0.0)
    first = run(get_json(app, "/health/alerts"))
    reads = [run(get_json(app, "/health/alerts")) for _ in range(5)]
    assert first["health_score"]["trend"] == "degrading"
    assert all(r == first for r in reads)
    assert engine.ingestion()["enqueued"] == 500


def test_history_endpoint_has_per_interval_aggregates_per_route(clock):
    app, engine = engine_app(clock, bucket_s=5, window_s=10, history_interval_s=10)
    feed(engine, latency_ms=50, error_share=0.1)
    clock.advance(10)
    engine.tick()
    engine.tick()
    data = run(get_json(app, "/metrics/history?last_n=3"))
    assert len(data["intervals"]) == 1
    row = data["intervals"][0]
    assert row["overall"]["sample_size"] == 100
    assert row["routes"]["/checkout"]["error_rate"] == 0.1
