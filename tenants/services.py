"""Writes on tenants: creation (schema, domain) and status changes."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from tenants.models import Domain, Tenant


def tenant_host(*, subdomain: str) -> str:
    """The host name of a tenant: ``<subdomain>.<base domain>``."""
    return f"{subdomain}.{settings.ALERTENGINE_BASE_DOMAIN}"


def public_tenant_ensure() -> Tenant:
    """The row for the public schema, routed from the base domain; created once."""
    tenant, _ = Tenant.objects.get_or_create(schema_name="public", defaults={"name": "AlertEngine platform"})
    Domain.objects.get_or_create(
        domain=settings.ALERTENGINE_BASE_DOMAIN, defaults={"tenant": tenant, "is_primary": True}
    )
    return tenant


@transaction.atomic
def tenant_create(*, name: str, subdomain: str) -> Tenant:
    """Create a tenant, its schema (migrated) and its primary domain."""
    tenant = Tenant(name=name, schema_name=subdomain)
    tenant.save(verbosity=0)
    Domain.objects.create(domain=tenant_host(subdomain=subdomain), tenant=tenant, is_primary=True)
    return tenant
