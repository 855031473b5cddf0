"""Verify the audit ledger's hash chain, in the database or in an export file."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_tenant_model, schema_context

from ledger import chain


class Command(BaseCommand):
    help = (
        "Walk the ledger's hash chain and print OK or the first broken entry. Without options every "
        "schema is checked; --file checks an export offline (no database needed)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--schema", help="check only this schema (a tenant's schema name, or 'public')")
        parser.add_argument("--file", help="verify an export file (JSON Lines) instead of the database")

    def handle(self, *args, schema: str | None, file: str | None, **options) -> None:
        if file:
            try:
                with open(file, encoding="utf-8") as handle:
                    verdict = chain.verify_export(handle)
            except (OSError, ValueError) as exc:
                raise CommandError(f"cannot read {file}: {exc}") from None
            self._report(file, verdict)
            if not verdict.ok:
                raise SystemExit(1)
            return
        schemas = [schema] if schema else list(get_tenant_model().objects.values_list("schema_name", flat=True))
        if schema and not get_tenant_model().objects.filter(schema_name=schema).exists():
            raise CommandError(f"no tenant has the schema {schema!r}")
        broken = False
        for name in schemas:
            from ledger.selectors import ledger_verify

            with schema_context(name):
                verdict = ledger_verify()
            self._report(name, verdict)
            broken = broken or not verdict.ok
        if broken:
            raise SystemExit(1)

    def _report(self, where: str, verdict: chain.Verdict) -> None:
        line = f"{where}: {verdict.describe()}"
        self.stdout.write(self.style.SUCCESS(line) if verdict.ok else self.style.ERROR(line))
