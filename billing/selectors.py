"""Reads of billing: what a tenant's plan entitles it to, usage, projected invoices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, get_tenant_model

from billing.models import Plan, Subscription, UsagePeriod
from billing.periods import period_bounds

FREE_SLUG = "free"


@dataclass(frozen=True)
class Entitlements:
    """What a tenant may use, from its plan. ``None`` limits mean unlimited."""

    tier: str
    tier_name: str
    max_services: int | None
    incidents_per_period: int | None
    channels: frozenset[str]
    features: frozenset[str]
    overage_cents_per_incident: int | None

    def allows(self, feature: str) -> bool:
        """Whether the plan includes ``feature`` (e.g. ``"ai_diagnosis"``, ``"custom_policy"``)."""
        return feature in self.features

    def allows_channel(self, kind: str) -> bool:
        """Whether the plan includes the channel ``kind`` (e.g. ``"telegram"``)."""
        return kind in self.channels

    @property
    def polls(self) -> bool:
        """Whether services of this tenant are polled at all (Free is SDK only)."""
        return self.max_services is None or self.max_services > 0


def _entitlements_of(plan: Plan) -> Entitlements:
    return Entitlements(
        tier=plan.slug,
        tier_name=plan.name,
        max_services=plan.max_services,
        incidents_per_period=plan.incidents_per_period,
        channels=frozenset(plan.channels),
        features=frozenset(plan.features),
        overage_cents_per_incident=plan.overage_cents_per_incident,
    )


def entitlements(*, tenant) -> Entitlements:
    """The entitlements of ``tenant`` (a Tenant, or the connection's tenant inside ``schema_context``).

    Looked up by schema name so it works with django-tenants' stand-in tenant objects; a tenant
    without a subscription (the public schema) gets the Free entitlements.
    """
    subscription = Subscription.objects.select_related("plan").filter(tenant__schema_name=tenant.schema_name).first()
    plan = subscription.plan if subscription else Plan.objects.get(slug=FREE_SLUG)
    return _entitlements_of(plan)


def tenants_to_poll() -> QuerySet:
    """Active (not suspended) tenants whose plan polls services."""
    return (
        get_tenant_model()
        .objects.exclude(schema_name=get_public_schema_name())
        .filter(status="active")
        .filter(Q(subscription__plan__max_services__isnull=True) | Q(subscription__plan__max_services__gt=0))
        .order_by("pk")
    )


@dataclass(frozen=True)
class InvoiceAmounts:
    """Base fee plus overage for one period's usage."""

    base_cents: int
    included_incidents: int | None
    incident_count: int
    overage_count: int
    overage_cents_per_incident: int | None
    overage_cents: int

    @property
    def total_cents(self) -> int:
        return self.base_cents + self.overage_cents


def invoice_amounts(*, subscription: Subscription, incident_count: int) -> InvoiceAmounts:
    """What a period with ``incident_count`` incidents costs on ``subscription``'s plan.

    Plans without overage never bill past the quota (the extra incidents are only counted).
    """
    plan = subscription.plan
    rate = plan.overage_cents_per_incident
    limit = plan.incidents_per_period
    over = max(0, incident_count - limit) if limit is not None and rate is not None else 0
    return InvoiceAmounts(
        base_cents=subscription.base_cents,
        included_incidents=limit,
        incident_count=incident_count,
        overage_count=over,
        overage_cents_per_incident=rate,
        overage_cents=over * (rate or 0),
    )


@dataclass(frozen=True)
class TenantBillingRow:
    """One line of the billing console: a tenant, its plan and this period's usage and cost."""

    subscription: Subscription
    period_start: datetime
    period_end: datetime
    incident_count: int
    amounts: InvoiceAmounts

    @property
    def limit(self) -> int | None:
        return self.subscription.plan.incidents_per_period

    @property
    def usage_ratio(self) -> float | None:
        """Share of the quota used (1.0 = at the limit); None when unlimited or no quota."""
        if not self.limit:
            return None
        return self.incident_count / self.limit


def current_usage(*, subscription: Subscription, at: datetime | None = None) -> TenantBillingRow:
    """The current period of ``subscription`` with its counter (0 when nothing was counted yet)."""
    at = at or timezone.now()
    start, end = period_bounds(anchor=subscription.started_at, at=at)
    count = (
        UsagePeriod.objects.filter(tenant_id=subscription.tenant_id, period_start=start)
        .values_list("incident_count", flat=True)
        .first()
    ) or 0
    return TenantBillingRow(
        subscription=subscription,
        period_start=start,
        period_end=end,
        incident_count=count,
        amounts=invoice_amounts(subscription=subscription, incident_count=count),
    )


def billing_overview(*, at: datetime | None = None) -> list[TenantBillingRow]:
    """Every subscription with its current period, usage and projected invoice."""
    at = at or timezone.now()
    subscriptions = Subscription.objects.select_related("plan", "tenant").order_by("tenant__name")
    periods = {
        (row.tenant_id, row.period_start): row.incident_count
        for row in UsagePeriod.objects.filter(period_end__gt=at, period_start__lte=at)
    }
    rows = []
    for subscription in subscriptions:
        start, end = period_bounds(anchor=subscription.started_at, at=at)
        count = periods.get((subscription.tenant_id, start), 0)
        rows.append(
            TenantBillingRow(
                subscription=subscription,
                period_start=start,
                period_end=end,
                incident_count=count,
                amounts=invoice_amounts(subscription=subscription, incident_count=count),
            )
        )
    return rows


@dataclass(frozen=True)
class TierSummary:
    """Subscriptions and monthly recurring revenue of one tier."""

    plan: Plan
    tenants: int
    mrr_cents: int


def mrr_by_tier(*, rows: list[TenantBillingRow]) -> list[TierSummary]:
    """MRR (base fees of active tenants) per tier, every tier of the catalogue listed."""
    totals: dict[int, list[int]] = {}
    for row in rows:
        if row.subscription.tenant.status != "active":
            continue
        entry = totals.setdefault(row.subscription.plan_id, [0, 0])
        entry[0] += 1
        entry[1] += row.subscription.base_cents
    return [
        TierSummary(plan=plan, tenants=totals.get(plan.pk, [0, 0])[0], mrr_cents=totals.get(plan.pk, [0, 0])[1])
        for plan in Plan.objects.order_by("rank")
    ]
