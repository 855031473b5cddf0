"""Plan catalogue, subscriptions, usage counters and invoices (public schema).

Amounts are integer cents. A subscription's billing periods are monthly, anchored on
``Subscription.started_at`` (see :mod:`billing.periods`); each period has one
:class:`UsagePeriod` counter row, and a closed period of a paid plan has one :class:`Invoice`.
"""

from __future__ import annotations

from django.db import models


class Plan(models.Model):
    """One tier of the public catalogue (loaded by a data migration, not edited in the admin)."""

    slug = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=64)
    rank = models.PositiveSmallIntegerField(unique=True, help_text="Order in the catalogue, cheapest first.")
    # None: a custom price agreed per contract (Enterprise), see Subscription.custom_price_cents.
    price_cents = models.PositiveIntegerField(null=True, blank=True)
    # None: unlimited.
    max_services = models.PositiveIntegerField(null=True, blank=True)
    incidents_per_period = models.PositiveIntegerField(null=True, blank=True)
    # None: no overage, incidents past the quota are counted but not alerted on.
    overage_cents_per_incident = models.PositiveIntegerField(null=True, blank=True)
    channels = models.JSONField(default=list)
    features = models.JSONField(default=list)

    class Meta:
        ordering = ["rank"]

    def __str__(self) -> str:
        return self.name


class Subscription(models.Model):
    """The plan a tenant is on; exactly one per tenant."""

    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.PROTECT, related_name="subscription")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    started_at = models.DateTimeField(help_text="Anchor of the monthly billing periods.")
    custom_price_cents = models.PositiveIntegerField(
        null=True, blank=True, help_text="Monthly price agreed in the contract, for plans with a custom price."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["tenant__name"]

    def __str__(self) -> str:
        return f"{self.tenant.name}: {self.plan.name}"

    @property
    def base_cents(self) -> int:
        """The monthly fee: the plan's price, or the contract's for custom-priced plans."""
        if self.plan.price_cents is not None:
            return self.plan.price_cents
        return self.custom_price_cents or 0


class UsagePeriod(models.Model):
    """Incidents counted in one billing period of one tenant: the quota counter."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="usage_periods")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    incident_count = models.PositiveIntegerField(default=0)
    quota_reached_at = models.DateTimeField(
        null=True, blank=True, help_text="When the first incident past the quota was counted."
    )
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-period_start"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "period_start"], name="usage_period_unique_start"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id} {self.period_start:%Y-%m-%d}"


class Invoice(models.Model):
    """A finalised invoice for one closed period: a snapshot, never recomputed or edited."""

    class Status(models.TextChoices):
        OPEN = "open", "Awaiting payment"
        PAID = "paid", "Paid"

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.PROTECT, related_name="invoices")
    usage_period = models.OneToOneField(UsagePeriod, on_delete=models.PROTECT, related_name="invoice")
    period_start = models.DateTimeField()
    period_end = models.DateTimeField()
    plan_slug = models.SlugField(max_length=32)
    plan_name = models.CharField(max_length=64)
    base_cents = models.PositiveIntegerField()
    included_incidents = models.PositiveIntegerField(null=True, blank=True)
    incident_count = models.PositiveIntegerField()
    overage_count = models.PositiveIntegerField()
    overage_cents_per_incident = models.PositiveIntegerField(null=True, blank=True)
    overage_cents = models.PositiveIntegerField()
    total_cents = models.PositiveIntegerField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    # Set by a payment provider integration (billing.payments) when one is added.
    payment_reference = models.CharField(max_length=128, blank=True)
    finalised_at = models.DateTimeField()

    class Meta:
        ordering = ["-period_start"]

    def __str__(self) -> str:
        return f"Invoice {self.pk} ({self.plan_name}, {self.period_start:%Y-%m-%d})"
