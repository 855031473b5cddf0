"""The audit ledger: one append-only, hash-chained table in every schema.

In a tenant's schema it records that tenant's incidents, approvals, deliveries and
configuration changes; in the public schema it is the platform ledger (billing changes).
UPDATE, DELETE and TRUNCATE are refused by database triggers.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import pgtrigger
from django.db import models


class ActorType(models.TextChoices):
    POLICY = "policy", "Policy"
    CLAUDE = "claude", "Claude"
    ENGINEER = "engineer", "Engineer"
    ORCHESTRATOR = "orchestrator", "Orchestrator"
    BILLING = "billing", "Billing"
    SYSTEM = "system", "System"


class Source(models.TextChoices):
    WEB = "web", "Web"
    WHATSAPP = "whatsapp", "WhatsApp"
    TELEGRAM = "telegram", "Telegram"
    SLACK = "slack", "Slack"
    API = "api", "API"
    ADMIN = "admin", "Admin"
    SYSTEM = "system", "System"


class LedgerEntry(models.Model):
    sequence = models.PositiveBigIntegerField(unique=True)
    recorded_at = models.DateTimeField()
    incident_id = models.UUIDField(null=True, blank=True, db_index=True)
    kind = models.CharField(max_length=64, db_index=True)
    kind_version = models.PositiveSmallIntegerField()
    stage_from = models.CharField(max_length=32, blank=True)
    stage_to = models.CharField(max_length=32, blank=True)
    actor_type = models.CharField(max_length=16, choices=ActorType.choices)
    actor_id = models.CharField(max_length=128, blank=True)
    source = models.CharField(max_length=16, choices=Source.choices)
    confidence = models.FloatField(null=True, blank=True)
    reason = models.TextField(blank=True)
    policy_version = models.CharField(max_length=64, blank=True)
    # The exact canonical JSON that was hashed (jsonb would re-encode it).
    body_json = models.TextField(default="{}")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        verbose_name = "ledger entry"
        verbose_name_plural = "ledger entries"
        triggers = [
            pgtrigger.Protect(name="ledger_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
            pgtrigger.Trigger(
                name="ledger_no_truncate",
                operation=pgtrigger.Truncate,
                level=pgtrigger.Statement,
                when=pgtrigger.Before,
                func="RAISE EXCEPTION 'pgtrigger: Cannot truncate % table', TG_TABLE_NAME;",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.kind}"

    @property
    def body(self) -> dict[str, Any]:
        return json.loads(self.body_json)

    def hashed_fields(self, schema: str) -> dict[str, Any]:
        """The fields as they are hashed and exported (see :mod:`ledger.chain`)."""
        return {
            "schema": schema,
            "sequence": self.sequence,
            "recorded_at": self.recorded_at.astimezone(UTC).isoformat(timespec="microseconds"),
            "incident_id": str(self.incident_id) if self.incident_id else None,
            "kind": self.kind,
            "kind_version": self.kind_version,
            "stage_from": self.stage_from,
            "stage_to": self.stage_to,
            "actor_type": self.actor_type,
            "actor_id": self.actor_id,
            "source": self.source,
            "confidence": self.confidence,
            "reason": self.reason,
            "policy_version": self.policy_version,
            "body": self.body,
            "prev_hash": self.prev_hash,
        }
