"""The hash chain, as pure code: canonical encoding, entry hashes and verification.

This module imports nothing from Django, so an auditor can verify an export offline::

    python -m ledger.chain verify ledger-export.jsonl

An entry's hash is SHA-256 over the canonical JSON encoding (sorted keys, no insignificant
whitespace, UTF-8) of its fields, including the schema it belongs to and the previous entry's
hash; the first entry's previous hash is 64 zeros.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

GENESIS_HASH = "0" * 64
HASHED_FIELDS = (
    "schema",
    "sequence",
    "recorded_at",
    "incident_id",
    "kind",
    "kind_version",
    "stage_from",
    "stage_to",
    "actor_type",
    "actor_id",
    "source",
    "confidence",
    "reason",
    "policy_version",
    "body",
    "prev_hash",
)


class NotCanonicalError(ValueError):
    """A value cannot be encoded canonically (NaN, infinity, a non-JSON type)."""


def _reject_non_finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        raise NotCanonicalError(f"{value!r} has no canonical JSON encoding")
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonicalError(f"object keys must be strings, got {key!r}")
            _reject_non_finite(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _reject_non_finite(item)
    return value


def canonical_json(value: Any) -> str:
    """The one encoding of ``value`` that is hashed and stored."""
    _reject_non_finite(value)
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except TypeError as exc:
        raise NotCanonicalError(str(exc)) from None


def entry_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical encoding of an entry's hashed fields."""
    payload = {name: fields[name] for name in HASHED_FIELDS}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


@dataclass(frozen=True)
class Verdict:
    ok: bool
    checked: int
    head_hash: str
    broken_sequence: int | None = None
    problem: str = ""

    def describe(self) -> str:
        if self.ok:
            return f"OK: {self.checked} entries verified, chain head {self.head_hash}"
        return f"BROKEN at entry {self.broken_sequence}: {self.problem} ({self.checked} entries checked before it)"


def verify(entries: Iterable[Mapping[str, Any]], *, schema: str | None = None) -> Verdict:
    """Check that the entries form one unbroken chain from the first entry.

    The sequence must run 1, 2, 3… with no gap and every ``prev_hash`` must be the previous
    entry's hash. A full entry's hash is recomputed from its content; a *link* record (an
    extract's stand-in for an entry of another incident: ``sequence``, ``prev_hash``, ``hash``
    and ``"link": true``) is only checked for its place in the chain. With ``schema``, every full
    entry must belong to that schema.
    """
    previous: Mapping[str, Any] | None = None
    checked = 0
    head = GENESIS_HASH
    for entry in entries:
        sequence = entry.get("sequence")
        expected_sequence = 1 if previous is None else previous["sequence"] + 1
        if sequence != expected_sequence:
            return Verdict(False, checked, head, sequence, f"sequence gap: expected {expected_sequence}")
        expected_prev = GENESIS_HASH if previous is None else previous["hash"]
        if entry.get("prev_hash") != expected_prev:
            return Verdict(False, checked, head, sequence, "prev_hash does not match the previous entry's hash")
        if not entry.get("link"):
            if schema is not None and entry.get("schema") != schema:
                return Verdict(False, checked, head, sequence, f"entry belongs to schema {entry.get('schema')!r}")
            try:
                recomputed = entry_hash(entry)
            except (KeyError, NotCanonicalError) as exc:
                return Verdict(False, checked, head, sequence, f"entry is malformed ({exc})")
            if recomputed != entry.get("hash"):
                return Verdict(False, checked, head, sequence, "content does not match its hash (entry was altered)")
            checked += 1
        previous = entry
        head = str(entry.get("hash"))
    return Verdict(True, checked, head)


def read_export(lines: Iterable[str]) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """Split an export (a JSON header line, then one entry per line) into header and entries."""
    iterator = iter(lines)
    header = json.loads(next(iterator))
    if header.get("format") != "alertengine-ledger-export/1":
        raise ValueError("not an AlertEngine ledger export (missing format header)")
    return header, (json.loads(line) for line in iterator if line.strip())


def verify_export(lines: Iterable[str]) -> Verdict:
    """Verify an export: one unbroken chain of the header's schema, ending at its stated head.

    An incident's extract carries every other entry as a link record, so omitting, adding or
    reordering anything still breaks the chain. What a verified export proves is that it is the
    chain whose head it states: compare that head with one recorded independently (the
    platform ledger's ``ledger.anchored`` entries, or a head you were given earlier).
    """
    header, entries = read_export(lines)
    incident = header.get("incident_id")

    def checked_entries() -> Iterator[dict[str, Any]]:
        for entry in entries:
            if incident and not entry.get("link") and entry.get("incident_id") != incident:
                raise _ForeignEntryError(entry.get("sequence"))
            yield entry

    try:
        verdict = verify(checked_entries(), schema=header.get("schema"))
    except _ForeignEntryError as exc:
        return Verdict(False, 0, GENESIS_HASH, exc.sequence, "entry of another incident in an incident's extract")
    head = header.get("chain_head") or {}
    if verdict.ok and (verdict.head_hash != head.get("hash")):
        return Verdict(False, verdict.checked, verdict.head_hash, None, "entries do not end at the stated chain head")
    return verdict


class _ForeignEntryError(Exception):
    def __init__(self, sequence: Any) -> None:
        self.sequence = sequence


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "verify":
        sys.stderr.write("usage: python -m ledger.chain verify <export.jsonl>\n")
        return 2
    with open(argv[1], encoding="utf-8") as handle:
        verdict = verify_export(handle)
    print(verdict.describe())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
