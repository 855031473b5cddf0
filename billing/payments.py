"""The seam for a payment provider; none is integrated yet.

:func:`invoice_finalise <billing.services.invoice_finalise>` hands every finalised invoice to
:func:`payment_provider` after the transaction commits. Integrating Stripe (or another provider)
means writing a class with this protocol that creates the charge or hosted invoice, stores the
provider's id in ``Invoice.payment_reference`` and marks the invoice paid from the provider's
webhook, then returning it from :func:`payment_provider`.
"""

from __future__ import annotations

from typing import Protocol

from billing.models import Invoice


class PaymentProvider(Protocol):
    def invoice_finalised(self, *, invoice: Invoice) -> None:
        """Collect payment for a finalised invoice (called once, after commit)."""


class ManualInvoicing:
    """Invoices are settled outside the platform; finalised invoices stay "awaiting payment"."""

    def invoice_finalised(self, *, invoice: Invoice) -> None:
        return None


def payment_provider() -> PaymentProvider:
    """The configured provider."""
    return ManualInvoicing()
