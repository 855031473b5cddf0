"""Shared fixtures of the control-plane tests.

The test database is created once per run; it holds the public tenant and one migrated test
tenant, committed and reused by every test. Tests that use ``db`` run inside a transaction that
is rolled back; tests that need another process or a worker thread to see their data use
``committed_db`` and create uniquely named objects (the audit ledger refuses DELETE, so nothing
is ever truncated).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
from django.db import connection

TEST_TENANT = "acme"


@pytest.fixture(scope="session")
def django_db_setup(django_test_environment, django_db_blocker):
    """Create the test database once, with the public tenant and the session's test tenant.

    pytest-django would create the database only when a test asks for ``db``; tests here also
    use committed data, so it is always created.
    """
    from django.test.utils import setup_databases, teardown_databases

    from tenants.services import public_tenant_ensure, tenant_create

    with django_db_blocker.unblock():
        state = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        public_tenant_ensure()
        tenant_create(name="Acme Payments", subdomain=TEST_TENANT)
    yield
    with django_db_blocker.unblock():
        teardown_databases(state, verbosity=0)


@pytest.fixture(scope="session")
def tenant(django_db_setup, django_db_blocker):
    """The session's migrated test tenant."""
    from tenants.models import Tenant

    with django_db_blocker.unblock():
        return Tenant.objects.get(schema_name=TEST_TENANT)


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """Database access without a wrapping transaction: writes are visible to other processes."""
    with django_db_blocker.unblock():
        yield
        connection.set_schema_to_public()


@pytest.fixture
def in_tenant(tenant) -> Iterator:
    """Run the test with the connection switched to the test tenant's schema."""
    connection.set_tenant(tenant)
    yield tenant
    connection.set_schema_to_public()


@pytest.fixture
def make_tenant(committed_db) -> Callable:
    """Create an extra, committed tenant with a unique subdomain (for isolation tests)."""
    from tenants.services import tenant_create

    def make(name: str = "Other Org"):
        subdomain = f"t{uuid.uuid4().hex[:10]}"
        return tenant_create(name=name, subdomain=subdomain)

    return make


@pytest.fixture(scope="session")
def test_database_url(django_db_setup) -> str:
    """A DATABASE_URL for other processes: this run's server, pointed at the test database."""
    from urllib.parse import quote, urlsplit, urlunsplit

    from django.conf import settings

    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + quote(settings.DATABASES["default"]["NAME"])))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The real Redis of this run (embedded by ./dev test, or $REDIS_URL)."""
    return os.environ["REDIS_URL"]


@pytest.fixture
def celery_worker(committed_db):
    """A real Celery worker consuming every queue, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker
    from django.conf import settings

    from saas.celery import app

    with start_worker(
        app,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        queues=list(settings.TASK_QUEUES),
        loglevel="WARNING",
        shutdown_timeout=10,
    ) as worker:
        yield worker


@pytest.fixture(autouse=True)
def _normal_platform_mode():
    """Each test starts in NORMAL mode with no outcomes recorded.

    The mode is shared through Redis, and tests that start a beat (the walk-through) or record
    model failures would otherwise leave DEGRADED behind for the tests after them.
    """
    import redis
    from django.conf import settings

    from saas import degraded

    try:
        client = redis.Redis.from_url(settings.REDIS_URL)
        for key in client.scan_iter(match="alertengine:outcomes:*"):
            client.delete(key)
        degraded.publish(client, degraded.Mode.NORMAL)
    except redis.RedisError:
        pass  # a test that stops Redis on purpose sets up its own conditions
