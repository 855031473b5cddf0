"""Poll throughput: a fleet of fake SDK endpoints across many tenants, polled by a real worker.

    .venv/bin/python benchmarks/poll_throughput.py [--tenants 100] [--per-tenant 10] [--ticks 5]

Uses ``DATABASE_URL``/``REDIS_URL`` when set, otherwise starts the embedded servers (as ``./dev``
does) in a throw-away data directory. It creates the tenants and services once, starts one Celery
worker (prefork, 2 processes, the same command ``./dev up`` runs), then sends the beat's tick
task ``--ticks`` times, ``LOOP_INTERVAL_S`` apart, and reports for each tick how long it took
until every service had been polled, and the services polled per second.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAYLOAD = json.dumps({
    "status": "ok", "metrics": {"overall_p95_ms": 85.0, "error_rate": 0.0, "anomaly_score": 0.1, "sample_size": 120},
    "health_score": {"score": 97, "status": "healthy", "trend": "stable",
                     "components": {"latency": 98, "errors": 100, "anomalies": 95}},
    "alerts": [], "timestamp": 0,
}).encode()


def fleet_server(port: int) -> None:
    """One process answering /svc/<n>/health/alerts for every n, like 1,000 healthy SDKs."""
    import uvicorn

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": PAYLOAD})

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", backlog=2048)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--per-tenant", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--fleet-port", type=int, default=0)
    options = parser.parse_args()

    from devstack.services import ensure_services, free_port
    from devstack.supervisor import Supervisor

    supervisor = Supervisor()
    data_dir = tempfile.mkdtemp(prefix="alertengine-bench-")
    os.environ.setdefault("ALERTENGINE_DEV_DATA", data_dir)
    try:
        services = ensure_services(supervisor, fast=True)
        os.environ.update(services.env())
        os.environ.setdefault("ALERTENGINE_ENV", "development")
        fleet_port = options.fleet_port or free_port()
        threading.Thread(target=fleet_server, args=(fleet_port,), daemon=True).start()
        return run(options, supervisor, fleet_port)
    finally:
        supervisor.stop()


def run(options, supervisor, fleet_port: int) -> int:
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate_schemas", "--shared", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    import django

    os.environ["DJANGO_SETTINGS_MODULE"] = "saas.settings"
    django.setup()
    from django.conf import settings
    from django.db import connection
    from django_tenants.utils import schema_context

    from billing.services import subscription_change_tier
    from incidents.models import ServiceHealth
    from incidents.tasks import poll_tick
    from tenants.configuration.models import Service
    from tenants.models import Tenant
    from tenants.services import public_tenant_ensure, tenant_create

    public_tenant_ensure()
    started = time.monotonic()
    for n in range(options.tenants):
        subdomain = f"bench{n:03d}"
        tenant = Tenant.objects.filter(schema_name=subdomain).first()
        if tenant is None:
            tenant = tenant_create(name=f"Bench {n}", subdomain=subdomain)
            subscription_change_tier(tenant=tenant, plan_slug="enterprise", actor_id="bench", reason="benchmark")
        with schema_context(tenant.schema_name):
            have = Service.objects.count()
            Service.objects.bulk_create([
                Service(name=f"svc {n}-{i}", health_url=f"http://127.0.0.1:{fleet_port}/svc/{n}-{i}/health/alerts")
                for i in range(have, options.per_tenant)
            ])
    total = options.tenants * options.per_tenant
    print(f"fleet: {total} services across {options.tenants} tenants (set-up {time.monotonic() - started:.0f} s)")

    supervisor.start("worker", [python, "-m", "celery", "-A", "saas", "worker", "--loglevel", "WARNING",
                                "--concurrency", "2", "-Q", "poll,diagnose,notify,execute,default"],
                     cwd=ROOT, env={"PYTHONUNBUFFERED": "1"})
    time.sleep(4)  # worker start-up
    schemas = [f"bench{n:03d}" for n in range(options.tenants)]

    table = ServiceHealth._meta.db_table
    union = " UNION ALL ".join(
        f'SELECT count(*) AS n FROM "{schema}"."{table}" WHERE last_polled_at >= %(moment)s'  # noqa: S608
        for schema in schemas)  # our own generated schema names

    def polled_since(moment: datetime) -> int:
        with connection.cursor() as cursor:  # one query for the whole fleet, to disturb the run little
            cursor.execute(f"SELECT sum(n) FROM ({union}) AS per_tenant", {"moment": moment})  # noqa: S608
            return int(cursor.fetchone()[0] or 0)

    results = []
    interval = settings.LOOP_INTERVAL_S
    for tick in range(options.ticks):
        tick_started_wall = datetime.now(UTC)
        t0 = time.monotonic()
        poll_tick.delay()
        done_at = None
        while time.monotonic() - t0 < 30:
            if polled_since(tick_started_wall) >= total:
                done_at = time.monotonic() - t0
                break
            time.sleep(0.25)
        polled = polled_since(tick_started_wall)
        results.append((tick + 1, done_at, polled))
        shown = f"{done_at:.2f} s" if done_at is not None else "not complete in 30 s"
        rate = polled / done_at if done_at else polled / 30
        print(f"tick {tick + 1}: {polled}/{total} services polled, complete after {shown} ({rate:.0f} services/s)")
        time.sleep(max(0.0, interval - (time.monotonic() - t0)))
    complete = [d for _, d, _ in results if d is not None]
    if complete:
        complete.sort()
        print(f"summary: median tick {complete[len(complete) // 2]:.2f} s, worst {complete[-1]:.2f} s, "
              f"target 5 s for {total} services: {'met' if complete[-1] <= 5.0 else 'missed'}")
    return 0 if complete and len(complete) == len(results) and complete[-1] <= 5.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
