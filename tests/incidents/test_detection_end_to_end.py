"""End to end: our SDK in a real uvicorn process, a real Celery worker, real PostgreSQL and Redis.

A spike in the service opens an incident within two ticks (actor policy), the pipeline proposes
it, and when the spike ends the policy records the recovery; the ledger verifies throughout.
Redis is flushed right after detection (broker queues, locks and all): nothing is lost.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
import requests
from django_tenants.utils import schema_context

from devstack.services import free_port
from incidents.models import Incident
from incidents.tasks import poll_tick
from ledger.models import LedgerEntry
from ledger.selectors import ledger_verify
from tenants.configuration.models import Service
from tests.incidents.builders import on_plan

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def sdk_service():
    port = free_port()
    env = {**os.environ, "ALERTENGINE_ENV": "development"}
    env.pop("ALERTENGINE_REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "examples.quickstart_example:app", "--port", str(port), "--log-level",
         "warning"], cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/health/alerts", timeout=1).ok:
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def _wait(predicate, *, timeout: float, tick_every: float = 1.0):
    deadline = time.monotonic() + timeout
    ticks = 0
    while time.monotonic() < deadline:
        poll_tick.delay()
        ticks += 1
        value = predicate()
        if value:
            return value, ticks
        time.sleep(tick_every)
    return None, ticks


def test_a_spike_is_detected_proposed_and_recovered(make_tenant, celery_worker, sdk_service, redis_url):
    tenant = make_tenant("Checkout Co")
    with schema_context(tenant.schema_name):
        on_plan("enterprise")
        service = Service.objects.create(name="Checkout API", health_url=f"{sdk_service}/health/alerts")

    def incident():
        with schema_context(tenant.schema_name):
            return Incident.objects.filter(service=service).first()

    _, _ = _wait(lambda: False, timeout=2.5)  # a few healthy polls first
    assert incident() is None
    requests.post(f"{sdk_service}/simulate/spike", timeout=5).raise_for_status()

    # Two degraded polls open it (tests/incidents/test_policy.py pins that); here, the ticks are
    # sent by the test a second apart, so under load the worker may need a few of them.
    opened, _ = _wait(incident, timeout=20)
    assert opened is not None, "no incident within 20 s of the spike"
    redis.Redis.from_url(redis_url).flushdb()  # Redis may lose everything; PostgreSQL holds the truth
    proposed, _ = _wait(lambda: (i := incident()) and i.stage in ("PROPOSED", "VALIDATED") and i, timeout=40)
    assert proposed, f"incident stuck in {incident().stage}"

    requests.post(f"{sdk_service}/simulate/recover", timeout=5).raise_for_status()
    recovered, _ = _wait(lambda: (i := incident()) and i.stage == "RECOVERED" and i, timeout=20)
    assert recovered, f"incident did not recover (stage {incident().stage})"

    with schema_context(tenant.schema_name):
        entries = list(LedgerEntry.objects.filter(incident_id=opened.id).order_by("sequence"))
        assert entries[0].kind == "incident.opened" and entries[0].actor_type == "policy"
        assert entries[-1].stage_to == "RECOVERED" and entries[-1].actor_type == "policy"
        assert ledger_verify().ok
