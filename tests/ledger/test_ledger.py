"""The audit ledger: append-only in the database, gapless, hash-chained, verifiable offline."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.utils import ProgrammingError
from django_tenants.utils import schema_context

from ledger import kinds
from ledger.events import LEDGER_EXPORTED
from ledger.models import LedgerEntry
from ledger.selectors import ledger_export_lines, ledger_verify
from ledger.services import LedgerWriteError, ledger_append

ROOT = Path(__file__).resolve().parents[2]


def _append(**overrides):
    fields = {"kind": LEDGER_EXPORTED, "actor_type": "system", "reason": "test entry", "body": {"n": 1}}
    return ledger_append(**(fields | overrides))


@pytest.mark.django_db
def test_entries_are_numbered_without_gaps_and_chained(in_tenant):
    before = LedgerEntry.objects.count()
    entries = [_append(body={"n": n}) for n in range(5)]
    assert [e.sequence for e in entries] == list(range(before + 1, before + 6))
    for previous, entry in itertools.pairwise(entries):
        assert entry.prev_hash == previous.hash
    assert ledger_verify().ok


@pytest.mark.django_db
def test_a_rolled_back_append_leaves_no_gap(in_tenant):
    first = _append()
    with pytest.raises(RuntimeError), transaction.atomic():
        _append()
        raise RuntimeError("the change being recorded failed")
    assert _append().sequence == first.sequence + 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_ledgerentry SET reason = 'rewritten'",
        "DELETE FROM ledger_ledgerentry",
        "TRUNCATE ledger_ledgerentry",
    ],
)
def test_the_database_refuses_to_change_or_remove_entries(in_tenant, statement):
    _append()
    with pytest.raises(ProgrammingError, match="pgtrigger: Cannot"), transaction.atomic(), connection.cursor() as cur:
        cur.execute(statement)
    assert LedgerEntry.objects.filter(reason="rewritten").count() == 0


def test_a_new_tenant_schema_gets_the_protection_too(make_tenant):
    other = make_tenant()
    with schema_context(other.schema_name):
        with transaction.atomic():
            _append()
        with pytest.raises(ProgrammingError), transaction.atomic(), connection.cursor() as cur:
            cur.execute("DELETE FROM ledger_ledgerentry")
        assert LedgerEntry.objects.count() == 1


@pytest.mark.django_db
def test_tampering_by_a_superuser_is_reported_at_the_altered_entry(in_tenant):
    entries = [_append(body={"n": n}) for n in range(3)]
    target = entries[1]
    with connection.cursor() as cur:
        cur.execute("SET LOCAL session_replication_role = replica")  # superuser: bypasses triggers
        cur.execute("UPDATE ledger_ledgerentry SET reason = 'nothing happened' WHERE id = %s", [target.id])
        cur.execute("SET LOCAL session_replication_role = origin")
    verdict = ledger_verify()
    assert not verdict.ok
    assert verdict.broken_sequence == target.sequence
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("ledger_verify", schema=in_tenant.schema_name, stdout=out)
    assert exit_info.value.code == 1
    assert f"BROKEN at entry {target.sequence}" in out.getvalue()


def test_concurrent_writers_never_fork_the_chain(make_tenant):
    other = make_tenant()
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        try:
            with schema_context(other.schema_name):
                for n in range(15):
                    with transaction.atomic():
                        _append(body={"worker": worker, "n": n})
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with schema_context(other.schema_name):
        sequences = list(LedgerEntry.objects.values_list("sequence", flat=True))
        assert sequences == list(range(1, 91))
        assert ledger_verify().ok


@pytest.mark.django_db
def test_unregistered_kinds_and_unhashable_bodies_are_refused(in_tenant):
    with pytest.raises(kinds.UnknownEventKindError):
        _append(kind="nobody.registered_this")
    with pytest.raises(LedgerWriteError, match="canonical"):
        _append(body={"p95": float("nan")})
    with pytest.raises(LedgerWriteError, match="actor type"):
        _append(actor_type="claude-but-louder")
    with pytest.raises(kinds.DuplicateEventKindError):
        kinds.register("ledger.exported", description="again")


def test_an_export_verifies_offline_and_a_doctored_export_does_not(make_tenant, tmp_path):
    other = make_tenant()
    incident = uuid.uuid4()
    with schema_context(other.schema_name):
        with transaction.atomic():
            for n in range(4):
                _append(body={"n": n}, incident_id=incident if n % 2 else None)
    export = tmp_path / "ledger.jsonl"
    call_command("ledger_export", schema=other.schema_name, output=str(export), stderr=StringIO())
    clean = subprocess.run([sys.executable, "-m", "ledger.chain", "verify", str(export)], cwd=ROOT,
                           capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"})
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith("OK: 4 entries")

    lines = export.read_text().splitlines()
    doctored = json.loads(lines[2])
    doctored["actor_id"] = "engineer:someone-else"
    lines[2] = json.dumps(doctored)
    export.write_text("\n".join(lines) + "\n")
    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("ledger_verify", file=str(export), stdout=out)
    assert "BROKEN at entry 2" in out.getvalue()


@pytest.mark.django_db
def test_one_incidents_extract_verifies_on_its_own(in_tenant):
    incident = uuid.uuid4()
    for n in range(3):
        _append(body={"n": n}, incident_id=incident)
        _append(body={"other": n})
    from ledger import chain

    lines = list(ledger_export_lines(incident_id=incident))
    verdict = chain.verify_export(lines)
    assert verdict.ok and verdict.checked == 3


def _export(schema: str, tmp_path, **options) -> list[str]:
    path = tmp_path / "export.jsonl"
    call_command("ledger_export", schema=schema, output=str(path), stderr=StringIO(), **options)
    return path.read_text().splitlines()


def _verifies(lines: list[str]) -> bool:
    from ledger import chain

    return chain.verify_export(lines).ok


def test_an_incident_extract_cannot_hide_add_or_borrow_entries(make_tenant, tmp_path):
    from ledger import chain

    other, third = make_tenant(), make_tenant()
    incident = uuid.uuid4()
    with schema_context(other.schema_name), transaction.atomic():
        for n in range(4):
            _append(body={"n": n}, incident_id=incident if n % 2 else None)
    lines = _export(other.schema_name, tmp_path, incident=str(incident))
    assert _verifies(lines)

    dropped = lines[:2] + lines[3:]
    assert not _verifies(dropped)
    header = json.loads(lines[0])
    header["scope"] = "full"
    assert not _verifies([json.dumps(header), *lines[1:-1]])  # a shortened chain no longer ends at the head

    forged = json.loads(lines[2]) | {"actor_type": "engineer", "actor_id": "engineer:ceo"}
    forged["hash"] = chain.entry_hash(forged)  # an attacker can recompute one hash ...
    assert not _verifies([*lines[:2], json.dumps(forged), *lines[3:]])  # ... but not the links after it

    with schema_context(third.schema_name), transaction.atomic():
        _append(body={"n": 0}, incident_id=incident)
    foreign = _export(third.schema_name, tmp_path, incident=str(incident))
    assert not _verifies([lines[0], *foreign[1:]])


def test_truncating_an_anchored_chain_is_reported(make_tenant):
    from ledger.anchors import ledger_anchor_all

    other = make_tenant()
    with schema_context(other.schema_name), transaction.atomic():
        for n in range(3):
            _append(body={"n": n})
    ledger_anchor_all()
    with schema_context(other.schema_name):
        assert ledger_verify().ok
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # a superuser removes the tail
            cur.execute("DELETE FROM ledger_ledgerentry WHERE sequence = 3")
        verdict = ledger_verify()
    assert not verdict.ok and "anchored" in verdict.problem


@pytest.mark.django_db
def test_an_integer_confidence_is_recorded_as_the_float_it_is_stored_as(in_tenant):
    _append(confidence=1)
    _append(confidence=0)
    assert ledger_verify().ok
    with pytest.raises(LedgerWriteError):
        _append(confidence=True)
