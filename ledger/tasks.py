"""Celery entry points of the ledger."""

from ledger.anchors import ledger_anchor_all
from saas.celery import app


@app.task(name="ledger.tasks.ledger_anchor", public=True, ignore_result=True)
def ledger_anchor() -> int:
    """Beat: record every tenant chain's head in the platform ledger."""
    return ledger_anchor_all()
