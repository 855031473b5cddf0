"""Appending to the ledger: the only write the ledger accepts."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from ledger import chain, kinds
from ledger.models import ActorType, LedgerEntry, Source


class LedgerWriteError(ValueError):
    """The entry was refused (unknown kind, actor or source, or a body that cannot be hashed)."""


def _lock_chain() -> None:
    # One appender at a time per schema, held until the surrounding transaction ends, so
    # concurrent writers never fork the chain and sequence numbers stay gapless.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"ledger:{connection.schema_name}"])


def ledger_append(
    *,
    kind: kinds.EventKind | str,
    actor_type: str,
    actor_id: str = "",
    source: str = Source.SYSTEM,
    incident_id: uuid.UUID | str | None = None,
    stage_from: str = "",
    stage_to: str = "",
    confidence: float | None = None,
    reason: str = "",
    policy_version: str = "",
    body: dict[str, Any] | None = None,
) -> LedgerEntry:
    """Append one entry to the current schema's ledger, in the caller's transaction.

    Call it inside the ``transaction.atomic()`` block that makes the change it records: the
    entry and the change then commit, or roll back, together.
    """
    registered = kinds.get(str(kind))
    if actor_type not in ActorType.values:
        raise LedgerWriteError(f"unknown actor type {actor_type!r}")
    if source not in Source.values:
        raise LedgerWriteError(f"unknown source {source!r}")
    if confidence is not None:
        # Stored as float8 and read back as a float: hash exactly that, so 1 and 1.0 agree.
        if isinstance(confidence, bool) or not isinstance(confidence, int | float):
            raise LedgerWriteError(f"confidence must be a number, got {confidence!r}")
        confidence = float(confidence)
        if not 0.0 <= confidence <= 1.0:
            raise LedgerWriteError(f"confidence must be between 0 and 1, got {confidence!r}")
    try:
        body_json = chain.canonical_json(body or {})
    except chain.NotCanonicalError as exc:
        raise LedgerWriteError(f"entry body cannot be recorded: {exc}") from None
    with transaction.atomic():
        _lock_chain()
        last = LedgerEntry.objects.order_by("-sequence").values_list("sequence", "hash").first()
        sequence, prev_hash = (last[0] + 1, last[1]) if last else (1, chain.GENESIS_HASH)
        entry = LedgerEntry(
            sequence=sequence,
            recorded_at=timezone.now(),
            incident_id=uuid.UUID(str(incident_id)) if incident_id else None,
            kind=registered.name,
            kind_version=registered.version,
            stage_from=stage_from,
            stage_to=stage_to,
            actor_type=actor_type,
            actor_id=actor_id,
            source=source,
            confidence=confidence,
            reason=reason,
            policy_version=policy_version,
            body_json=body_json,
            prev_hash=prev_hash,
        )
        entry.hash = chain.entry_hash(entry.hashed_fields(connection.schema_name))
        entry.save(force_insert=True)
    return entry
