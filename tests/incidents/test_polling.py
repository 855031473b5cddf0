"""Polling over real HTTP through the outbound guard: every failure is an observation."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings
from pytest_httpserver import HTTPServer

from incidents.observation import Kind
from incidents.polling import fetch_observation
from saas.outbound import outbound_session

PAYLOAD = {"status": "ok", "metrics": {"overall_p95_ms": 80.0, "error_rate": 0.0, "sample_size": 40},
           "health_score": {"score": 98, "status": "healthy", "trend": "stable"}, "alerts": []}


def poll(httpserver: HTTPServer, token: str = ""):
    return fetch_observation(outbound_session(), url=httpserver.url_for("/health/alerts"), token=token)


def test_a_healthy_payload_is_observed_and_the_poll_token_is_sent(httpserver: HTTPServer):
    httpserver.expect_request("/health/alerts", headers={"Authorization": "Bearer s3cret"}).respond_with_json(PAYLOAD)
    o = poll(httpserver, token="s3cret")
    assert (o.kind, o.score, o.p95_ms) == (Kind.OK, 98, 80.0)


def test_a_5xx_without_a_payload_is_unreachable_but_a_5xx_with_one_is_data(httpserver: HTTPServer):
    httpserver.expect_oneshot_request("/health/alerts").respond_with_data("<h1>Bad gateway</h1>", status=502)
    assert poll(httpserver).kind == Kind.UNREACHABLE
    httpserver.expect_oneshot_request("/health/alerts").respond_with_data(json.dumps(PAYLOAD), status=503)
    assert poll(httpserver).kind == Kind.OK


@pytest.mark.parametrize(("status", "reason"), [(401, "refused the poll token"), (302, "redirects are not followed"),
                                                 (404, "HTTP 404")])
def test_refusals_and_redirects_are_invalid_with_the_reason(httpserver: HTTPServer, status, reason):
    httpserver.expect_request("/health/alerts").respond_with_data("", status=status, headers={"Location": "/x"})
    o = poll(httpserver)
    assert o.kind == Kind.INVALID and reason in o.reason


def test_a_ten_megabyte_answer_is_refused(httpserver: HTTPServer):
    httpserver.expect_request("/health/alerts").respond_with_data("[" + " " * (10 * 1024 * 1024) + "]")
    o = poll(httpserver)
    assert o.kind == Kind.INVALID and "larger than" in o.reason


def test_a_closed_port_is_unreachable():
    from devstack.services import free_port

    o = fetch_observation(outbound_session(), url=f"http://127.0.0.1:{free_port()}/health/alerts")
    assert o.kind == Kind.UNREACHABLE and "connection failed" in o.reason


def test_a_url_resolving_to_a_blocked_address_is_never_fetched(httpserver: HTTPServer):
    httpserver.expect_request("/health/alerts").respond_with_json(PAYLOAD)
    with override_settings(OUTBOUND_ALLOW_LOOPBACK=False):
        o = poll(httpserver)
    assert o.kind == Kind.UNREACHABLE and "may not connect" in o.reason
    assert httpserver.log == []
