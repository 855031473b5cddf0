"""Celery: tenant schema travels with the task; every task is routed; publishing never hangs."""

from __future__ import annotations

import time
import uuid

import pytest
import redis
from celery import Celery
from celery.signals import task_failure
from django.conf import settings
from django.db import connection
from kombu.exceptions import OperationalError

from saas.celery import TaskInPublicSchemaError, app, task_queue


@app.task(name="tests.record_schema")
def record_schema(key: str) -> None:
    redis.Redis.from_url(settings.REDIS_URL).set(key, connection.schema_name, ex=60)


app.conf.task_routes = {**(app.conf.task_routes or {}), "tests.record_schema": {"queue": "default"}}
app.amqp.flush_routes()


def _wait_for_key(client: redis.Redis, key: str, timeout: float = 15.0) -> bytes | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = client.get(key)
        if value is not None:
            return value
        time.sleep(0.05)
    return None


def test_every_registered_task_has_a_named_queue():
    names = [name for name in app.tasks if not name.startswith("celery.")]
    assert "tests.record_schema" in names
    unrouted = [name for name in names if task_queue(name) not in settings.TASK_QUEUES]
    assert unrouted == []


def test_a_task_without_a_route_is_reported_as_unrouted():
    assert task_queue("nobody.declared.this") is None


def test_task_sent_from_a_tenant_context_runs_in_that_tenant_schema(celery_worker, tenant, redis_url):
    key = f"test:{uuid.uuid4()}"
    connection.set_tenant(tenant)
    record_schema.delay(key)
    connection.set_schema_to_public()
    assert _wait_for_key(redis.Redis.from_url(redis_url), key) == tenant.schema_name.encode()


def test_tenant_task_sent_from_the_public_schema_fails_loudly(celery_worker, redis_url):
    failures: list[BaseException] = []

    def on_failure(sender=None, exception=None, **kwargs):
        if getattr(sender, "name", None) == record_schema.name:
            failures.append(exception)

    task_failure.connect(on_failure, weak=False)
    try:
        key = f"test:{uuid.uuid4()}"
        connection.set_schema_to_public()
        record_schema.delay(key)
        deadline = time.monotonic() + 15
        while not failures and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        task_failure.disconnect(on_failure)
    assert failures and isinstance(failures[0], TaskInPublicSchemaError)
    assert redis.Redis.from_url(redis_url).get(key) is None


def test_publishing_with_redis_down_raises_instead_of_hanging():
    from devstack.services import free_port

    down = Celery("probe", broker=f"redis://127.0.0.1:{free_port()}/0")
    down.conf.broker_transport_options = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    down.conf.task_publish_retry_policy = settings.CELERY_TASK_PUBLISH_RETRY_POLICY
    down.conf.broker_connection_timeout = 2
    started = time.monotonic()
    with pytest.raises(OperationalError):
        down.send_task("tests.record_schema", args=["x"])
    assert time.monotonic() - started < 30


def test_beat_polls_every_service_each_loop_interval_and_schedules_only_registered_routed_tasks():
    schedule = settings.CELERY_BEAT_SCHEDULE
    polls = [entry for entry in schedule.values() if entry["task"] == "incidents.tasks.poll_tick"]
    assert [entry["schedule"] for entry in polls] == [settings.LOOP_INTERVAL_S]
    for entry in schedule.values():
        assert entry["task"] in app.tasks, entry["task"]
        assert task_queue(entry["task"]) in settings.TASK_QUEUES
    assert {"incidents.tasks.heartbeat", "incidents.tasks.mode_evaluate", "ledger.tasks.ledger_anchor"} <= {
        entry["task"] for entry in schedule.values()}
