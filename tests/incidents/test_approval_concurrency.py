"""Exactly one of many concurrent confirms wins, with Redis up, and with Redis stopped.

Both tests use committed data in a tenant of their own: the confirms come from other threads
(each with its own database connection) or from another process.
"""

# ruff: noqa: F811 - pytest fixtures are imported from tests.notifications.support and named as arguments

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from devstack.services import free_port
from incidents.approvals import approval_token
from incidents.execution import execution_run, executions_stalled
from incidents.models import Execution, Incident
from incidents.state import Stage
from ledger.models import LedgerEntry
from ledger.selectors import ledger_verify
from tests.notifications.support import host_of, receiver, world  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parents[2]


def _authorized_entries(incident_id) -> int:
    return LedgerEntry.objects.filter(incident_id=incident_id, stage_to="AUTHORIZED").count()


def test_two_hundred_concurrent_confirms_authorize_exactly_once(make_tenant, receiver):
    connection.set_schema_to_public()  # tenants are created from the public schema
    tenant = make_tenant("Concurrent Co")
    with schema_context(tenant.schema_name):
        connection.set_tenant(tenant)
        w = world(webhook_url=receiver.url)
        token = approval_token(w.approval)
    host = host_of(tenant)
    start = threading.Event()

    def confirm(_: int) -> int:
        start.wait()
        try:
            return Client(HTTP_HOST=host).post("/action/recover/confirm", {"token": token}).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=32) as pool:
        futures = [pool.submit(confirm, i) for i in range(200)]
        start.set()
        statuses = [f.result() for f in futures]

    assert statuses.count(200) == 1 and statuses.count(409) == 199
    with schema_context(tenant.schema_name):
        assert Incident.objects.get(pk=w.incident.pk).stage == Stage.AUTHORIZED
        assert _authorized_entries(w.incident.pk) == 1
        assert Execution.objects.filter(incident_id=w.incident.pk).count() == 1
        assert LedgerEntry.objects.filter(incident_id=w.incident.pk, kind="approval.refused").count() == 199
        assert ledger_verify().ok
        connection.set_tenant(tenant)
        execution_run(execution_id=Execution.objects.get(incident_id=w.incident.pk).pk)
    assert len(receiver.received) == 1


@pytest.fixture
def server_without_redis(committed_db, test_database_url):
    """The control plane in another process, its REDIS_URL pointing at a closed port."""
    port, dead_redis = free_port(), free_port()
    env = {**os.environ, "DATABASE_URL": test_database_url, "REDIS_URL": f"redis://127.0.0.1:{dead_redis}/0",
           "ALERTENGINE_ENV": "test", "DJANGO_SETTINGS_MODULE": "saas.settings", "LOG_LEVEL": "ERROR"}
    code = ("import django; django.setup(); from werkzeug.serving import run_simple; "
            "from saas.wsgi import application; "
            f"run_simple('127.0.0.1', {port}, application, threaded=True)")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/", timeout=1)
            break
        except requests.ConnectionError:
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


def test_with_redis_stopped_a_link_is_consumed_once_and_only_once(make_tenant, server_without_redis):
    connection.set_schema_to_public()  # tenants are created from the public schema
    tenant = make_tenant("No Redis Co")
    with schema_context(tenant.schema_name):
        connection.set_tenant(tenant)
        w = world()
        token = approval_token(w.approval)
    host = host_of(tenant)
    session = requests.Session()
    page = session.get(f"{server_without_redis}/action/recover", params={"token": token}, headers={"Host": host},
                       timeout=10)
    assert page.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookies = session.cookies.get_dict()
    start = threading.Event()

    def confirm(_: int) -> int:
        start.wait()
        return requests.post(f"{server_without_redis}/action/recover/confirm",
                             data={"token": token, "csrfmiddlewaretoken": csrf}, cookies=cookies,
                             headers={"Host": host, "Referer": f"http://{host}/"}, timeout=30).status_code

    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(confirm, i) for i in range(20)]
        start.set()
        statuses = [f.result() for f in futures]

    assert statuses.count(200) == 1 and statuses.count(409) == 19
    with schema_context(tenant.schema_name):
        assert Incident.objects.get(pk=w.incident.pk).stage == Stage.AUTHORIZED
        assert _authorized_entries(w.incident.pk) == 1
        [execution] = Execution.objects.filter(incident_id=w.incident.pk)
        # The task could not be queued without Redis; the sweep finds the execution and dispatches it.
        assert execution.status == "pending"
        assert execution.pk in executions_stalled(now=timezone.now() + timedelta(seconds=60))


def test_concurrent_decisions_on_two_requests_of_one_incident_queue_instead_of_failing(make_tenant, receiver):
    from incidents.approvals import _request_create
    from tenants.configuration.models import Contact, RecoveryAction

    connection.set_schema_to_public()
    tenant = make_tenant("Escalated Co")
    with schema_context(tenant.schema_name):
        connection.set_tenant(tenant)
        w = world(webhook_url=receiver.url)
        second = Contact.objects.create(name="Second on call", phone_e164="+14155550199", escalation_order=9)
        other = _request_create(incident=w.incident, contact=second, level=1, theory=w.approval.theory,
                                action=RecoveryAction.objects.get(name=w.approval.action_name),
                                expires_at=w.approval.expires_at, now=timezone.now(), frozen=w.approval)
        tokens = [approval_token(w.approval), approval_token(other)]
    host = host_of(tenant)
    start = threading.Event()

    def confirm(i: int) -> int:
        start.wait()
        try:
            return Client(HTTP_HOST=host).post("/action/recover/confirm", {"token": tokens[i % 2]}).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=16) as pool:
        futures = [pool.submit(confirm, i) for i in range(40)]
        start.set()
        statuses = [f.result() for f in futures]

    assert statuses.count(200) == 1 and statuses.count(409) == 39, statuses
    with schema_context(tenant.schema_name):
        assert _authorized_entries(w.incident.pk) == 1
        assert Execution.objects.filter(incident_id=w.incident.pk).count() == 1
        assert ledger_verify().ok
