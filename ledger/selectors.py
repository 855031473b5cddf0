"""Reading the ledger: verification and export."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

from django.db import connection
from django.utils import timezone

from ledger import chain
from ledger.models import LedgerEntry

EXPORT_FORMAT = "alertengine-ledger-export/1"


def _entries(incident_id: uuid.UUID | None = None, up_to: int | None = None) -> Iterator[LedgerEntry]:
    queryset = LedgerEntry.objects.order_by("sequence")
    if up_to is not None:
        queryset = queryset.filter(sequence__lte=up_to)
    if incident_id is not None:
        queryset = queryset.filter(incident_id=incident_id)
    return queryset.iterator(chunk_size=2000)


def ledger_verify() -> chain.Verdict:
    """Walk the current schema's chain and check it against its anchors in the platform ledger.

    The verdict names the first broken entry, if any.
    """
    from ledger.anchors import anchor_mismatch

    schema = connection.schema_name
    verdict = chain.verify((entry.hashed_fields(schema) | {"hash": entry.hash} for entry in _entries()),
                           schema=schema)
    if verdict.ok and schema != "public":
        problem = anchor_mismatch(schema)
        if problem:
            return chain.Verdict(False, verdict.checked, verdict.head_hash, None, problem)
    return verdict


def ledger_head() -> dict[str, object]:
    last = LedgerEntry.objects.order_by("-sequence").values("sequence", "hash").first()
    return last or {"sequence": 0, "hash": chain.GENESIS_HASH}


def ledger_export_lines(*, incident_id: uuid.UUID | None = None) -> Iterator[str]:
    """JSON Lines: a header (scope, schema, chain head), then every entry with its hashes."""
    schema = connection.schema_name
    head = ledger_head()
    header = {
        "format": EXPORT_FORMAT,
        "schema": schema,
        "scope": "full" if incident_id is None else "incident",
        "incident_id": str(incident_id) if incident_id else None,
        "exported_at": timezone.now().isoformat(),
        "chain_head": head,
    }
    yield json.dumps(header, sort_keys=True)
    # Entries appended while the export runs belong to the next export. An incident's extract
    # carries the other entries as link records, so the whole chain can still be checked.
    for entry in _entries(None, up_to=int(head["sequence"])):
        if incident_id is None or entry.incident_id == incident_id:
            yield chain.canonical_json(entry.hashed_fields(schema) | {"hash": entry.hash})
        else:
            yield chain.canonical_json({"sequence": entry.sequence, "prev_hash": entry.prev_hash, "hash": entry.hash,
                                        "link": True})
