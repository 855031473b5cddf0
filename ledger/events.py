"""Event kinds the ledger itself records."""

from ledger import kinds

LEDGER_EXPORTED = kinds.register(
    "ledger.exported", description="The ledger, or one incident's entries, was exported for an auditor."
)
LEDGER_ANCHORED = kinds.register(
    "ledger.anchored",
    description="A tenant ledger's chain head, recorded in the platform ledger so later truncation or rewriting shows.",
)
