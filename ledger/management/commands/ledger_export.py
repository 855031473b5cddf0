"""Export a schema's ledger (or one incident's entries) as JSON Lines with every hash."""

from __future__ import annotations

import sys
import uuid

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django_tenants.utils import get_tenant_model, schema_context

from ledger.events import LEDGER_EXPORTED
from ledger.models import ActorType, Source
from ledger.selectors import ledger_export_lines
from ledger.services import ledger_append


class Command(BaseCommand):
    help = "Export the ledger of --schema as JSON Lines (header with the chain head, then each entry)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--schema", required=True)
        parser.add_argument("--incident", help="export only this incident's entries (its id)")
        parser.add_argument("--output", "-o", help="file to write (default: standard output)")

    def handle(self, *args, schema: str, incident: str | None, output: str | None, **options) -> None:
        if not get_tenant_model().objects.filter(schema_name=schema).exists():
            raise CommandError(f"no tenant has the schema {schema!r}")
        try:
            incident_id = uuid.UUID(incident) if incident else None
        except ValueError:
            raise CommandError(f"--incident must be an incident id (a UUID), got {incident!r}") from None
        with schema_context(schema):
            handle = open(output, "w", encoding="utf-8") if output else sys.stdout
            count = 0
            try:
                lines = ledger_export_lines(incident_id=incident_id)
                handle.write(next(lines) + "\n")  # the header
                for line in lines:
                    handle.write(line + "\n")
                    count += 1
            finally:
                if output:
                    handle.close()
            with transaction.atomic():
                ledger_append(
                    kind=LEDGER_EXPORTED, actor_type=ActorType.SYSTEM, actor_id="manage.py ledger_export",
                    source=Source.SYSTEM, incident_id=incident_id, reason="exported from the command line",
                    body={"entries": count, "scope": "incident" if incident_id else "full"},
                )
        if output:
            self.stderr.write(f"wrote {count} entries to {output}")
