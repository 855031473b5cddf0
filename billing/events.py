"""Ledger kinds of billing: written to the public (billing) ledger, tier changes also to the tenant's."""

from ledger import kinds

SUBSCRIPTION_STARTED = kinds.register(
    "billing.subscription_started", description="A tenant's subscription started on a plan."
)
TIER_CHANGED = kinds.register(
    "billing.tier_changed", description="A tenant was moved from one plan to another (who, from, to, why)."
)
QUOTA_RESET = kinds.register(
    "billing.quota_reset", description="A new billing period started with a fresh incident counter."
)
INVOICE_FINALISED = kinds.register(
    "billing.invoice_finalised", description="The invoice of a closed billing period was finalised."
)
