"""Recompute every incident projection from the audit ledger alone."""

from django.core.management.base import BaseCommand
from django_tenants.utils import get_tenant_model, schema_context

from incidents.projection import incidents_rebuild


class Command(BaseCommand):
    help = "Rebuild incident state from the ledger, for every tenant or one --schema."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--schema", help="only this tenant's schema")

    def handle(self, *args, schema: str | None, **options) -> None:
        tenants = get_tenant_model().objects.exclude(schema_name="public")
        if schema:
            tenants = tenants.filter(schema_name=schema)
        for tenant in tenants:
            with schema_context(tenant.schema_name):
                count = incidents_rebuild()
            self.stdout.write(f"{tenant.schema_name}: rebuilt {count} incidents from the ledger")
