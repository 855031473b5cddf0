from django.contrib import admin
from django_tenants.utils import get_public_schema_name

from tenants.models import Domain, Tenant


class PublicSchemaOnlyAdmin(admin.ModelAdmin):
    """Tenants and domains are managed only from the public host's admin."""

    def has_module_permission(self, request) -> bool:
        return request.tenant.schema_name == get_public_schema_name() and super().has_module_permission(request)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


@admin.register(Tenant)
class TenantAdmin(PublicSchemaOnlyAdmin):
    list_display = ("name", "schema_name", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("name", "schema_name")
    inlines = [DomainInline]
