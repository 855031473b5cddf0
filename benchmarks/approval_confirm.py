"""Approve-endpoint latency: ``POST /action/recover/confirm`` through the whole Django stack.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/alertengine_dev REDIS_URL=redis://127.0.0.1:6379/15 \\
        .venv/bin/python benchmarks/approval_confirm.py [--approvals 200]

Creates a throw-away test database (``test_<name of DATABASE_URL's database>``, dropped at the end)
with one tenant, ``--approvals`` services each with a VALIDATED incident and an open approval
request, then confirms each link once with Django's test client (middleware, tenant routing,
token checks, the conditional UPDATE, the AUTHORIZED transition and ledger entry, the execution
row and the publication of its task). The recovery webhook itself runs later in a worker, so it
is not part of the figure. Give it a Redis database of its own: the queued execution tasks are
removed from it at the end. Prints p50/p95/p99/max for the page (GET) and the confirm (POST).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
os.environ.setdefault("ALERTENGINE_ENV", "test")


def _percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100)
    return f"p50 {q[49]:6.1f} ms   p95 {q[94]:6.1f} ms   p99 {q[98]:6.1f} ms   max {ordered[-1]:6.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--approvals", type=int, default=200)
    options = parser.parse_args()

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_databases, teardown_databases

    from incidents.approvals import approval_token, approvals_open
    from incidents.models import Incident
    from incidents.services import incident_propose, service_observe
    from incidents.state import Stage
    from tenants.configuration.models import Contact, RecoveryAction, Service
    from tenants.configuration.services import recovery_action_create
    from tenants.services import public_tenant_ensure, tenant_create
    from tests.incidents.builders import on_plan, spike

    state = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        public_tenant_ensure()
        tenant = tenant_create(name="Bench Co", subdomain="bench")
        connection.set_tenant(tenant)
        on_plan("enterprise")
        Contact.objects.create(name="On-call", escalation_order=1, phone_e164="+263771234567")
        recovery_action_create(action=RecoveryAction(name="restart_worker_pool",
                                                     webhook_url="https://recover.bench.example/hook"),
                               actor_id="bench")
        started = time.monotonic()
        tokens = []
        for n in range(options.approvals):
            service = Service.objects.create(name=f"Service {n}", health_url=f"https://s{n}.bench.example/health")
            for _ in range(2):
                service_observe(service=service, observation=spike())
            incident = incident_propose(incident_id=Incident.objects.get(service=service).id)
            [approval] = approvals_open(incident_id=incident.id)
            tokens.append(approval_token(approval))
        print(f"set-up: {options.approvals} VALIDATED incidents with approval links in "
              f"{time.monotonic() - started:.1f} s")
        connection.set_schema_to_public()

        client = Client(HTTP_HOST=tenant.get_primary_domain().domain)
        for token in tokens[:5]:  # warm-up (template loading, connection)
            client.get("/action/recover", {"token": token})
        pages, confirms = [], []
        for token in tokens:
            t0 = time.perf_counter()
            page = client.get("/action/recover", {"token": token})
            t1 = time.perf_counter()
            done = client.post("/action/recover/confirm", {"token": token})
            t2 = time.perf_counter()
            if page.status_code != 200 or done.status_code != 200:
                print(f"unexpected statuses {page.status_code}/{done.status_code}", file=sys.stderr)
                return 1
            pages.append((t1 - t0) * 1000)
            confirms.append((t2 - t1) * 1000)
        connection.set_tenant(tenant)
        authorized = Incident.objects.filter(stage=Stage.AUTHORIZED).count()
        connection.set_schema_to_public()
        print(f"GET  /action/recover          n={len(pages)}   {_percentiles(pages)}")
        print(f"POST /action/recover/confirm  n={len(confirms)}   {_percentiles(confirms)}")
        print(f"incidents AUTHORIZED: {authorized} of {len(tokens)}; target p95 < 100 ms: "
              f"{'met' if statistics.quantiles(confirms, n=100)[94] < 100 else 'NOT met'}")
    finally:
        connection.set_schema_to_public()
        teardown_databases(state, verbosity=0)
        redis.Redis.from_url(settings.REDIS_URL).delete("execute")
    return 0


if __name__ == "__main__":
    sys.exit(main())
