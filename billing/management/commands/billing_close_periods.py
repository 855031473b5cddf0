"""Close ended billing periods: finalise their invoices and open the new periods (idempotent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from billing.services import billing_periods_close


class Command(BaseCommand):
    help = "Finalise the invoices of every ended billing period and start the new periods. Safe to run often."

    def handle(self, *args, **options) -> None:
        invoices = billing_periods_close()
        for invoice in invoices:
            self.stdout.write(f"finalised invoice {invoice.pk}: {invoice.plan_name}, ${invoice.total_cents / 100:,.2f}")
        self.stdout.write(f"{len(invoices)} invoice(s) finalised.")
