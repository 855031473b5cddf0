"""Anchoring: each tenant chain's head is recorded, from time to time, in the platform ledger.

A hash chain alone proves only that it is internally consistent: someone able to rewrite the
table could rewrite its tail and recompute the hashes. An anchor is an independent record of
where the chain stood; verification checks that the tenant's entry at every anchored sequence
still has the anchored hash.
"""

from __future__ import annotations

import json

from django.db import transaction
from django_tenants.utils import get_public_schema_name, get_tenant_model, schema_context

from ledger.chain import canonical_json
from ledger.events import LEDGER_ANCHORED
from ledger.models import ActorType, LedgerEntry, Source
from ledger.services import ledger_append


def ledger_anchor_all() -> int:
    """Record the current head of every tenant's ledger in the platform ledger; returns how many."""
    heads: list[tuple[str, int, str]] = []
    for schema in get_tenant_model().objects.exclude(schema_name=get_public_schema_name()).values_list(
        "schema_name", flat=True
    ):
        with schema_context(schema):
            last = LedgerEntry.objects.order_by("-sequence").values_list("sequence", "hash").first()
        if last and not _anchored(schema, last[0]):
            heads.append((schema, last[0], last[1]))
    with schema_context(get_public_schema_name()), transaction.atomic():
        for schema, sequence, head in heads:
            ledger_append(kind=LEDGER_ANCHORED, actor_type=ActorType.SYSTEM, actor_id="ledger-anchor",
                          source=Source.SYSTEM, reason=f"chain head of {schema} at entry {sequence}",
                          body={"schema": schema, "sequence": sequence, "hash": head})
    return len(heads)


def _anchored(schema: str, sequence: int) -> bool:
    anchors = anchors_of(schema)
    return bool(anchors) and anchors[-1][0] >= sequence


def anchors_of(schema: str) -> list[tuple[int, str]]:
    """(sequence, hash) of every anchor recorded for ``schema``, oldest first."""
    marker = canonical_json({"schema": schema})[1:-1]  # bodies are canonical JSON: '"schema":"acme"'
    with schema_context(get_public_schema_name()):
        rows = LedgerEntry.objects.filter(kind=LEDGER_ANCHORED.name, body_json__contains=marker).order_by(
            "sequence").values_list("body_json", flat=True)
        bodies = [json.loads(raw) for raw in rows]
    return [(int(b["sequence"]), str(b["hash"])) for b in bodies if b.get("schema") == schema]


def anchor_mismatch(schema: str) -> str | None:
    """The first anchored entry of ``schema`` that no longer matches, described; None if all match."""
    anchors = anchors_of(schema)
    if not anchors:
        return None
    with schema_context(schema):
        hashes = dict(LedgerEntry.objects.filter(sequence__in=[s for s, _ in anchors]).values_list("sequence",
                                                                                                   "hash"))
    for sequence, expected in anchors:
        if hashes.get(sequence) != expected:
            found = "missing" if sequence not in hashes else "different"
            return f"entry {sequence} is {found} from the head anchored in the platform ledger"
    return None
