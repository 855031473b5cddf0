"""The append-only, hash-chained audit ledger (one per schema)."""
