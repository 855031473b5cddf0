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
from saas.fields import EncryptedTextField


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
                condition=Q(stage__in=sorted(s.value for s in ACTIVE)),  # sorted: a stable migration
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


class DiagnosisRun(models.Model):
    """One model call made to diagnose an incident: its answer and its token usage.

    The table lives in the tenant schema, so the sum of its tokens is the tenant's AI usage.
    A failed call is kept too: it cost a request, and the ledger entry that follows names why
    the policy's explanation was used instead.
    """

    class Role(models.TextChoices):
        SINGLE = "single", "Single model"
        A = "A", "Council model A"
        B = "B", "Council model B"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="diagnosis_runs")
    round = models.PositiveSmallIntegerField(help_text="1 for the opening diagnosis, then one per re-diagnosis.")
    role = models.CharField(max_length=8, choices=Role.choices)
    model = models.CharField(max_length=100)
    trigger = models.CharField(max_length=200)
    ok = models.BooleanField()
    error = models.CharField(max_length=300, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    prompt = models.TextField(blank=True,
                              help_text="The user turn sent, so a re-diagnosis can replay the conversation.")
    answer = models.JSONField(null=True, blank=True, help_text="The validated tool input.")
    observation = models.JSONField(default=dict, help_text="The observation this round was based on.")
    stage = models.CharField(max_length=16, help_text="The incident's stage when this round ran.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incident", "round", "role"]
        indexes = [models.Index(fields=["created_at"])]

    def __str__(self) -> str:
        return f"{self.model} round {self.round} ({'ok' if self.ok else self.error})"


class CommitSource(models.Model):
    """The tenant's GitHub webhook settings (one row): the webhook secret and an optional API token."""

    webhook_secret = EncryptedTextField(help_text="The secret you typed into GitHub's webhook settings.")
    github_token = EncryptedTextField(
        blank=True, help_text="Optional, read-only: lets AlertEngine fetch each commit's additions and deletions."
    )
    db_path_rules = models.TextField(
        blank=True,
        help_text=(
            "Paths that count as database or query code, one rule per line, replacing the defaults: "
            "a name matches a whole folder or file name (or a word of it), '*.sql' matches an extension."
        ),
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "GitHub commit source"

    def __str__(self) -> str:
        return "GitHub commit webhook"


class GitHubDelivery(models.Model):
    """A webhook delivery already accepted: the same ``X-GitHub-Delivery`` is refused a second time."""

    delivery_id = models.CharField(max_length=64, unique=True)
    event = models.CharField(max_length=40)
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.event} {self.delivery_id}"


class Commit(models.Model):
    """A commit received in a GitHub push; ``pushed_at`` is when the push reached us."""

    sha = models.CharField(max_length=40)
    repository = models.CharField(max_length=200, help_text="owner/name")
    branch = models.CharField(max_length=200)
    message = models.TextField()
    author = models.CharField(max_length=200)
    committed_at = models.DateTimeField()
    pushed_at = models.DateTimeField()
    files_added = models.JSONField(default=list)
    files_modified = models.JSONField(default=list)
    files_removed = models.JSONField(default=list)
    additions = models.PositiveIntegerField(null=True, blank=True)
    deletions = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-pushed_at", "-committed_at"]
        constraints = [models.UniqueConstraint(fields=["repository", "sha"], name="one_commit_per_repository_sha")]
        indexes = [models.Index(fields=["pushed_at"])]

    def __str__(self) -> str:
        return f"{self.sha[:7]} {self.message.splitlines()[0] if self.message else ''}"

    @property
    def files(self) -> list[str]:
        return [*self.files_added, *self.files_modified, *self.files_removed]


class ApprovalRequest(models.Model):
    """One contact's chance to approve one frozen recovery action for one incident (DESIGN §3.3).

    The snapshot (action, payload, diagnosis shown, policy version) is frozen at creation: what
    the engineer approves is exactly what runs. It is consumed once, by a single conditional
    UPDATE (:func:`incidents.approvals.approval_decide`); ``decision`` and ``consumed_at`` are what
    ``incident_transition`` checks before AUTHORIZED.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected (do not run)"
        EXPIRED = "expired", "Expired"
        SUPERSEDED = "superseded", "Superseded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="approval_requests")
    contact = models.ForeignKey("configuration.Contact", on_delete=models.PROTECT, related_name="approval_requests")
    action_name = models.CharField(max_length=64)
    action_host = models.CharField(max_length=255, help_text="The host the recovery webhook will call.")
    payload = models.JSONField(help_text="The frozen recovery request that runs if this is approved.")
    diagnosis = models.JSONField(default=dict, blank=True, help_text="The diagnosis shown to the approver.")
    theory = models.CharField(max_length=1, blank=True, help_text="Dissent: the theory (A or B) this action follows.")
    policy_version = models.CharField(max_length=64)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    chat_ref = models.CharField(max_length=32, unique=True, help_text="Opaque id used in chat buttons.")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    decision = models.CharField(max_length=8, blank=True)
    decided_via = models.CharField(max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    consumed_at = models.DateTimeField(null=True, blank=True)
    escalate_at = models.DateTimeField(null=True, blank=True, help_text="When the next contact is asked.")
    voice_at = models.DateTimeField(null=True, blank=True, help_text="When the contact is called (Compliance+).")
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"])]
        constraints = [
            models.UniqueConstraint(fields=["incident", "escalation_level", "theory"],
                                    name="one_approval_request_per_incident_level_theory"),
        ]

    def __str__(self) -> str:
        return f"{self.action_name} for {self.incident_id} ({self.status})"


class Execution(models.Model):
    """One authorized call of a recovery webhook; ``webhook_id`` is its idempotency key, sent on every attempt."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="executions")
    approval = models.OneToOneField(ApprovalRequest, on_delete=models.PROTECT, related_name="execution")
    webhook_id = models.CharField(max_length=64, unique=True)
    action_name = models.CharField(max_length=64)
    url = models.CharField(max_length=500)
    payload = models.JSONField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    authorized_by = models.CharField(max_length=150, help_text="Who authorized the latest run (approver or replayer).")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action_name} {self.webhook_id} ({self.status})"


class WebhookAttempt(models.Model):
    """One HTTP attempt of an execution, whatever its outcome."""

    execution = models.ForeignKey(Execution, on_delete=models.PROTECT, related_name="attempt_rows")
    number = models.PositiveSmallIntegerField()
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16)  # succeeded | retryable | failed
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["execution", "started_at", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number}: {self.outcome}"


class DeadLetter(models.Model):
    """An execution whose every attempt failed (Compliance and above): inspectable and replayable by an admin."""

    execution = models.ForeignKey(Execution, on_delete=models.PROTECT, related_name="dead_letters")
    incident = models.ForeignKey(Incident, on_delete=models.PROTECT, related_name="dead_letters")
    reason = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    replayed_at = models.DateTimeField(null=True, blank=True)
    replayed_by = models.CharField(max_length=150, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "dead-letter entry"
        verbose_name_plural = "dead-letter queue"

    def __str__(self) -> str:
        return f"{self.execution.action_name} for {self.incident_id} ({'replayed' if self.replayed_at else 'open'})"
