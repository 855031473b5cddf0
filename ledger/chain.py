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
            return f"OK: {self.checked} entries, chain head {self.head_hash}"
        return f"BROKEN at entry {self.broken_sequence}: {self.problem} ({self.checked} entries checked before it)"


def verify(entries: Iterable[Mapping[str, Any]], *, contiguous: bool = True) -> Verdict:
    """Check every entry's hash and its link to the previous entry.

    With ``contiguous`` the sequence must run 1, 2, 3… with no gap. An extract (e.g. one
    incident's entries) is checked with ``contiguous=False``: each hash is recomputed, and the
    link is checked wherever two entries are consecutive.
    """
    previous: Mapping[str, Any] | None = None
    checked = 0
    head = GENESIS_HASH
    for entry in entries:
        sequence = entry.get("sequence")
        try:
            recomputed = entry_hash(entry)
        except (KeyError, NotCanonicalError) as exc:
            return Verdict(False, checked, head, sequence, f"entry is malformed ({exc})")
        if contiguous:
            expected_sequence = 1 if previous is None else previous["sequence"] + 1
            if sequence != expected_sequence:
                return Verdict(False, checked, head, sequence, f"sequence gap: expected {expected_sequence}")
            expected_prev = GENESIS_HASH if previous is None else previous["hash"]
            if entry["prev_hash"] != expected_prev:
                return Verdict(False, checked, head, sequence, "prev_hash does not match the previous entry's hash")
        elif previous is not None and sequence == previous["sequence"] + 1 and entry["prev_hash"] != previous["hash"]:
            return Verdict(False, checked, head, sequence, "prev_hash does not match the previous entry's hash")
        if recomputed != entry.get("hash"):
            return Verdict(False, checked, head, sequence, "content does not match its hash (entry was altered)")
        previous = entry
        head = entry["hash"]
        checked += 1
    return Verdict(True, checked, head)


def read_export(lines: Iterable[str]) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """Split an export (a JSON header line, then one entry per line) into header and entries."""
    iterator = iter(lines)
    header = json.loads(next(iterator))
    if header.get("format") != "alertengine-ledger-export/1":
        raise ValueError("not an AlertEngine ledger export (missing format header)")
    return header, (json.loads(line) for line in iterator if line.strip())


def verify_export(lines: Iterable[str]) -> Verdict:
    """Verify an export file's entries and that they end at the chain head its header states."""
    header, entries = read_export(lines)
    verdict = verify(entries, contiguous=header.get("scope") == "full")
    if verdict.ok and header.get("scope") == "full" and verdict.head_hash != header.get("chain_head", {}).get("hash"):
        return Verdict(False, verdict.checked, verdict.head_hash, None, "entries do not end at the stated chain head")
    return verdict


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
