"""Concurrent workers observing the same service (committed data, real threads and connections)."""

from __future__ import annotations

import threading

from django.db import connection, transaction
from django_tenants.utils import schema_context

from incidents.models import Incident
from incidents.services import service_observe
from ledger.models import LedgerEntry
from tests.incidents.builders import on_plan, service, spike


def test_concurrent_workers_open_at_most_one_incident_per_service(make_tenant):
    other = make_tenant()
    with schema_context(other.schema_name):
        on_plan("enterprise")
        svc = service()
        service_observe(service=svc, observation=spike())
    barrier = threading.Barrier(4)
    errors = []

    def observe():
        try:
            with schema_context(other.schema_name):
                barrier.wait()
                with transaction.atomic():
                    service_observe(service=svc, observation=spike())
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=observe) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with schema_context(other.schema_name):
        assert Incident.objects.filter(service=svc).count() == 1
        assert LedgerEntry.objects.filter(kind="incident.opened").count() == 1
