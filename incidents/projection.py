"""Incident state as a projection of the ledger: rebuild every incident from entries alone."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction

from incidents.events import INCIDENT_DIAGNOSED, INCIDENT_OPENED, INCIDENT_STAGE_CHANGED
from incidents.models import Incident
from incidents.state import CLOSED
from ledger.models import LedgerEntry

#: The incident fields the ledger determines; ``incidents_rebuild`` recomputes exactly these.
PROJECTED_FIELDS = (
    "service_id", "kind", "stage", "title", "explanation", "policy_version", "thresholds", "opened_at",
    "updated_at", "closed_at", "opening_observation", "alerts_allowed", "diagnosis",
)


def project(entries) -> dict[uuid.UUID, dict[str, Any]]:
    """Fold ledger entries (in sequence order) into each incident's projected fields."""
    states: dict[uuid.UUID, dict[str, Any]] = {}
    for entry in entries:
        if entry.incident_id is None:
            continue
        body = entry.body
        if entry.kind == INCIDENT_OPENED.name:
            states[entry.incident_id] = {
                "service_id": body["service_id"], "kind": body["kind"], "stage": entry.stage_to,
                "title": body["title"], "explanation": entry.reason, "policy_version": entry.policy_version,
                "thresholds": body["thresholds"], "opened_at": entry.recorded_at, "updated_at": entry.recorded_at,
                "closed_at": None, "opening_observation": body["observation"],
                "alerts_allowed": body["quota"]["within_quota"], "diagnosis": None,
            }
        elif entry.incident_id in states:
            state = states[entry.incident_id]
            if entry.kind == INCIDENT_STAGE_CHANGED.name:
                state["stage"] = entry.stage_to
                state["updated_at"] = entry.recorded_at
                if entry.stage_to in CLOSED:
                    state["closed_at"] = entry.recorded_at
            elif entry.kind == INCIDENT_DIAGNOSED.name:
                state["diagnosis"] = body
    return states


def incidents_rebuild() -> int:
    """Recompute every incident of the current schema from its ledger; returns how many."""
    states = project(LedgerEntry.objects.order_by("sequence").iterator(chunk_size=2000))
    with transaction.atomic():
        for incident_id, values in states.items():
            Incident.objects.update_or_create(pk=incident_id, defaults=values)
    return len(states)


def incident_snapshot(incident: Incident) -> dict[str, Any]:
    return {name: getattr(incident, name) for name in PROJECTED_FIELDS}
