"""Event kinds the ledger itself records."""

from ledger import kinds

LEDGER_EXPORTED = kinds.register(
    "ledger.exported", description="The ledger, or one incident's entries, was exported for an auditor."
)
