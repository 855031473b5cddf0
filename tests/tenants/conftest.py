"""Shared set-up of the tenant tests: the public schema, and no sign-up rate counts left over."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _public_schema() -> Iterator[None]:
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _fresh_signup_rate_limit() -> None:
    """Sign-up counts per address live in Redis for an hour; each test starts with none."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    for key in client.scan_iter(match="signup-rate:*"):
        client.delete(key)
