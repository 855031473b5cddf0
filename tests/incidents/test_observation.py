"""Untrusted payloads become typed observations or a clear 'invalid' reason; never an exception."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.observation import MAX_BODY_BYTES, Kind, parse

PUBLIC_1_7_0 = {
    "status": "critical",
    "health_score": {"score": 23, "status": "critical", "trend": "degrading"},
    "metrics": {"overall_p95_ms": 2847.3, "error_rate": 0.19, "anomaly_score": 1.4, "sample_size": 187},
    "alerts": [{"type": "latency_spike", "severity": "critical",
                "reason_for_trigger": "P95 latency 2847ms exceeds threshold 3000ms",
                "triggered_by": "absolute_threshold"}],
    "timestamp": 1764770000,
}


def test_the_public_packages_payload_is_understood():
    o = parse(json.dumps(PUBLIC_1_7_0).encode())
    assert o.kind == Kind.OK
    assert (o.score, o.error_rate, o.p95_ms, o.sample_size, o.trend) == (23, 0.19, 2847.3, 187, "degrading")
    assert o.alerts[0].message == "P95 latency 2847ms exceeds threshold 3000ms"


def test_our_sdks_additions_are_read_and_unknown_extras_ignored():
    payload = PUBLIC_1_7_0 | {"schema_version": 1, "service_name": "checkout", "p99_ms": 4100.5, "p50_ms": 80,
                              "routes": {"/x": {}}, "sdk_version": "0.1.0", "surprise": [1, 2]}
    o = parse(json.dumps(payload).encode())
    assert (o.service_name, o.p99_ms, o.p50_ms, o.sdk_version) == ("checkout", 4100.5, 80, "0.1.0")


@pytest.mark.parametrize(("body", "reason"), [
    (b"<html>502 Bad Gateway</html>", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"metrics": 5}', "metrics is missing"),
    (b'{"metrics": {"error_rate": "lots"}}', "error_rate must be a number"),
    (b'{"metrics": {"error_rate": NaN}}', "NaN"),
    (b'{"metrics": {"overall_p95_ms": 1e999}}', "out of range"),
    (b'{"metrics": {"error_rate": 7}}', "out of range"),
    (b'{"metrics": {"error_rate": true}}', "must be a number"),
    (b'{"metrics": {}}', "carries no health score"),
    (b'{"metrics": {"error_rate": 0.1}, "x": ' + b"[" * 40 + b"]" * 40 + b"}", "nested too deeply"),
    (b'{"metrics": {"error_rate": 0.1}, "x": ' + b"[" * 100000 + b"]" * 100000 + b"}", "nested too deeply"),
    (b"\xff\xfe\x00garbage", "not valid JSON"),
    (b'{"metrics": {"error_rate": 1' + b"0" * 400 + b"}}", "out of range"),
])
def test_hostile_payloads_become_invalid_observations(body, reason):
    o = parse(body)
    assert o.kind == Kind.INVALID
    assert reason in o.reason


def test_a_ten_megabyte_body_is_refused_by_size():
    o = parse(b" " * (10 * 1024 * 1024))
    assert o.kind == Kind.INVALID and str(MAX_BODY_BYTES) in o.reason


def test_alert_text_is_truncated_and_stripped_of_control_characters():
    payload = PUBLIC_1_7_0 | {"alerts": [{"type": "x", "severity": "y", "message": "a\x1b[31m" + "b" * 5000}] * 50}
    o = parse(json.dumps(payload).encode())
    assert len(o.alerts) == 20
    assert "\x1b" not in o.alerts[0].message and len(o.alerts[0].message) == 300


@given(st.binary(max_size=2000))
def test_arbitrary_bytes_never_raise(body):
    assert parse(body).kind in (Kind.OK, Kind.INVALID)


@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(),
                    lambda children: st.lists(children) | st.dictionaries(st.text(), children), max_leaves=30))
def test_arbitrary_json_never_raises(document):
    try:
        body = json.dumps({"metrics": document, "health_score": document}).encode()
    except ValueError:
        return
    assert parse(body).kind in (Kind.OK, Kind.INVALID)
