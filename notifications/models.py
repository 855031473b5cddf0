"""Delivery records (tenant schema): one row per attempt to deliver one message to one recipient.

A row is created *before* the provider is called, in state ``sending``; a partial unique
constraint allows at most one ``sending`` or ``sent`` row per (message dedupe key, recipient), so
a task that runs twice, or two copies running at once, deliver the message once: the second
cannot claim it. That also means at most one successful delivery per (key, channel, recipient).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q


class Delivery(models.Model):
    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    dedupe_key = models.CharField(max_length=200, help_text="The message's identity, e.g. <incident>:approval:<id>.")
    channel = models.CharField(max_length=24)
    provider = models.CharField(max_length=32)
    recipient = models.CharField(max_length=64, help_text="e.g. contact:12, or team for team-wide channels.")
    address = models.CharField(max_length=200, blank=True, help_text="Number or chat the message went to (masked).")
    attempt = models.PositiveSmallIntegerField(default=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SENDING)
    provider_message_id = models.CharField(max_length=128, blank=True)
    error = models.TextField(blank=True)
    transient = models.BooleanField(default=False, help_text="The error may go away on a retry.")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["dedupe_key", "recipient"])]
        constraints = [
            models.UniqueConstraint(
                fields=["dedupe_key", "recipient"],
                condition=Q(status__in=["sending", "sent"]),
                name="one_live_delivery_per_message_and_recipient",
            )
        ]

    def __str__(self) -> str:
        return f"{self.dedupe_key} -> {self.recipient} via {self.channel}: {self.status}"
