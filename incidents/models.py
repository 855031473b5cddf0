"""Incidents and their supporting state (tenant schema).

``Incident`` rows are a projection of the ledger: ``manage.py incidents_rebuild`` recomputes
them from ledger entries alone. ``ServiceHealth`` holds each service's poll streaks and learned
baseline; ``IncidentObservation`` keeps the points of an incident's health/P95 chart.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q

from incidents.policy import POLICY_REVISION
from incidents.state import ACTIVE, Stage


class PolicyVersion(models.Model):
    """One version of a tenant's thresholds; every change of overrides creates the next."""

    number = models.PositiveIntegerField(unique=True)
    overrides = models.JSONField(default=dict)
    thresholds = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-number"]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{POLICY_REVISION}/v{self.number}"


class ServiceHealth(models.Model):
    service = models.OneToOneField("configuration.Service", on_delete=models.CASCADE, primary_key=True,
                                   related_name="health")
    streak_bad = models.PositiveIntegerField(default=0)
    streak_good = models.PositiveIntegerField(default=0)
    streak_no_data = models.PositiveIntegerField(default=0)
    baseline_p95_ms = models.FloatField(null=True, blank=True)
    baseline_error_rate = models.FloatField(null=True, blank=True)
    baseline_updated_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_verdict = models.CharField(max_length=16, blank=True)
    last_observation = models.JSONField(default=dict, blank=True)

    def __str__(self) -> str:
        return f"health of service {self.service_id}"


class Incident(models.Model):
    class Kind(models.TextChoices):
        DEGRADED = "degraded", "Degraded"
        UNREACHABLE = "unreachable", "Service unreachable"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    service = models.ForeignKey("configuration.Service", on_delete=models.PROTECT, related_name="incidents")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    stage = models.CharField(max_length=16, choices=[(s.value, s.value) for s in Stage], default=Stage.DETECTED)
    title = models.CharField(max_length=200)
    explanation = models.TextField(help_text="The policy's own explanation of why the incident was opened.")
    policy_version = models.CharField(max_length=64)
    thresholds = models.JSONField(help_text="The thresholds in force when the incident opened.")
    opened_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    opening_observation = models.JSONField(default=dict)
    alerts_allowed = models.BooleanField(default=True, help_text="False past the plan's quota: recorded, not alerted.")
    diagnosis = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service"],
                condition=Q(stage__in=[s.value for s in ACTIVE]),
                name="one_active_incident_per_service",
            )
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.stage})"

    @property
    def is_active(self) -> bool:
        return self.stage in ACTIVE


class IncidentObservation(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="observations")
    observed_at = models.DateTimeField()
    verdict = models.CharField(max_length=16)
    score = models.FloatField(null=True)
    error_rate = models.FloatField(null=True)
    p95_ms = models.FloatField(null=True)

    class Meta:
        ordering = ["observed_at"]
        indexes = [models.Index(fields=["incident", "observed_at"])]

    def __str__(self) -> str:
        return f"{self.observed_at:%H:%M:%S} {self.verdict}"


# ---------------------------------------------------------------- diagnosis and Diff-in-Pocket (issue 6)
