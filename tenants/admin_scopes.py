"""Admin classes that exist on one kind of host only.

The admin registry is global, but the tables are not: tenants and billing live in ``public``,
a tenant's configuration, incidents and ledger in its schema. Every permission (not only the
menu entry) is refused on the other kind of host, so a tenant superuser cannot open the tenant
list through its URL, and a platform user cannot open a tenant model on the public host.
"""

from __future__ import annotations

from django.contrib import admin
from django_tenants.utils import get_public_schema_name


def _on_public(request) -> bool:
    return request.tenant.schema_name == get_public_schema_name()


class PublicSchemaOnlyAdmin(admin.ModelAdmin):
    """Platform models (tenants, billing): managed only from the public host's admin."""

    def has_module_permission(self, request) -> bool:
        return _on_public(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return _on_public(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return _on_public(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return _on_public(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return _on_public(request) and super().has_delete_permission(request, obj)


class TenantSchemaOnlyAdmin(admin.ModelAdmin):
    """A tenant's own models: managed only from its host's admin, never from the public host."""

    def has_module_permission(self, request) -> bool:
        return not _on_public(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None) -> bool:
        return not _on_public(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request) -> bool:
        return not _on_public(request) and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None) -> bool:
        return not _on_public(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return not _on_public(request) and super().has_delete_permission(request, obj)
