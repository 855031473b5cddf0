"""The incident quota: counted per billing period, atomically, with one "quota reached" per period."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import Subscription, UsagePeriod
from billing.services import incident_quota_consume
from ledger.models import LedgerEntry
from tests.tenants.builders import set_tier


def _consume(tenant, times: int, **kwargs):
    return [incident_quota_consume(tenant=tenant, **kwargs) for _ in range(times)]


@pytest.mark.django_db
def test_starter_counts_past_the_quota_without_overage_and_flags_the_first_over_once(tenant):
    set_tier(tenant, "starter")
    decisions = _consume(tenant, 7)
    assert [d.count for d in decisions] == [1, 2, 3, 4, 5, 6, 7]
    assert [d.within_quota for d in decisions] == [True] * 5 + [False, False]
    assert [d.first_over_quota for d in decisions] == [False] * 5 + [True, False]
    assert not any(d.overage for d in decisions)
    assert decisions[0].limit == 5


@pytest.mark.django_db
def test_team_bills_overage_past_fifty_and_keeps_alerting(tenant):
    set_tier(tenant, "team")
    decisions = _consume(tenant, 52)
    assert decisions[49].within_quota and not decisions[49].overage
    assert decisions[50].within_quota and decisions[50].overage and decisions[50].first_over_quota
    assert decisions[51].overage and not decisions[51].first_over_quota


@pytest.mark.django_db
def test_enterprise_is_never_over_quota(tenant):
    set_tier(tenant, "enterprise")
    last = _consume(tenant, 3)[-1]
    assert (last.count, last.limit, last.within_quota, last.overage, last.first_over_quota) == (
        3,
        None,
        True,
        False,
        False,
    )


@pytest.mark.django_db
def test_a_new_period_starts_a_fresh_counter_and_records_a_quota_reset(tenant):
    set_tier(tenant, "starter")
    started = Subscription.objects.get(tenant=tenant).started_at
    _consume(tenant, 6, at=started + timedelta(days=3))
    resets_before = LedgerEntry.objects.filter(
        kind="billing.quota_reset", body_json__contains=tenant.schema_name
    ).count()
    next_period = incident_quota_consume(tenant=tenant, at=started + timedelta(days=40))
    assert (next_period.count, next_period.within_quota, next_period.first_over_quota) == (1, True, False)
    assert UsagePeriod.objects.filter(tenant=tenant).count() == 2
    resets = LedgerEntry.objects.filter(kind="billing.quota_reset", body_json__contains=tenant.schema_name)
    assert resets.count() == resets_before + 1


@pytest.mark.django_db
def test_counting_works_inside_a_tenant_schema_transaction_and_rolls_back_with_it(in_tenant):
    set_tier(in_tenant, "starter")
    connection.set_tenant(in_tenant)
    with pytest.raises(RuntimeError), transaction.atomic():
        assert incident_quota_consume(tenant=in_tenant).count == 1
        raise RuntimeError("the incident was not recorded")
    assert connection.schema_name == in_tenant.schema_name
    assert incident_quota_consume(tenant=in_tenant).count == 1
    tenant_ledger_kinds = set(LedgerEntry.objects.values_list("kind", flat=True))
    assert "billing.quota_reset" not in tenant_ledger_kinds  # billing entries go to the public ledger


def test_concurrent_workers_count_every_incident_once_and_one_of_them_is_first_over(make_tenant):
    other = make_tenant()
    set_tier(other, "starter")
    results = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def worker() -> None:
        try:
            barrier.wait()
            with schema_context(other.schema_name), transaction.atomic():
                decision = incident_quota_consume(tenant=other)
            with lock:
                results.append(decision)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(d.count for d in results) == list(range(1, 9))
    assert sum(d.first_over_quota for d in results) == 1
    assert sum(not d.within_quota for d in results) == 3
    assert UsagePeriod.objects.get(tenant=other, period_start__lte=timezone.now()).incident_count == 8
