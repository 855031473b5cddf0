"""A read-only view of the ledger in the tenant admin."""

from django.contrib import admin

from ledger.models import LedgerEntry


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    list_display = ("sequence", "recorded_at", "kind", "actor_type", "actor_id", "source", "stage_from", "stage_to")
    list_filter = ("kind", "actor_type", "source")
    search_fields = ("reason", "actor_id", "incident_id")
    ordering = ("-sequence",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
