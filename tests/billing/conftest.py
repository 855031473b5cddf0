"""Every test starts and ends in the public schema (a tenant-host request leaves the connection in its schema)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection


@pytest.fixture(autouse=True)
def _public_schema() -> Iterator[None]:
    connection.set_schema_to_public()
    yield
    connection.set_schema_to_public()
