"""A short, stable tag of a schema, carried inside its session keys and API keys.

A credential minted on one tenant's host names that tenant, so one presented on another
tenant's host is recognised and refused with 403 (see :mod:`tenants.middleware`) instead of
being silently treated as anonymous. The tag is not a secret and grants nothing by itself.
"""

from __future__ import annotations

import hashlib

TAG_LENGTH = 8


def tenant_tag(schema_name: str) -> str:
    """Eight hex characters derived from the schema name."""
    return hashlib.sha256(f"alertengine-tenant:{schema_name}".encode()).hexdigest()[:TAG_LENGTH]
