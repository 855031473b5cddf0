"""Writes of billing: subscriptions, tier changes, the incident quota counter, period close.

Every write is recorded in the public schema's ledger (the billing ledger); tier changes are also
recorded in the tenant's own ledger. These functions may be called with the connection in a
tenant schema: billing tables exist only in ``public`` (which is on every tenant's search path),
and ledger entries are written under an explicit ``schema_context``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from billing import events
from billing.models import Invoice, Plan, Subscription, UsagePeriod
from billing.payments import payment_provider
from billing.periods import period_bounds
from billing.selectors import invoice_amounts
from ledger.services import ledger_append

# Enough to catch up on years of missed period closes in one run, bounded all the same.
_MAX_PERIODS_PER_CLOSE = 240


@dataclass(frozen=True)
class QuotaDecision:
    """The outcome of counting one incident against the period's quota.

    ``within_quota`` is False past the limit on plans without overage: record the incident, send
    no alert or diagnosis. ``overage`` is True past the limit on plans with overage (billed).
    ``first_over_quota`` is True for exactly one incident per period, the first past the limit.
    """

    count: int
    limit: int | None
    within_quota: bool
    overage: bool
    first_over_quota: bool


def _billing_ledger_append(**fields) -> None:
    with schema_context(get_public_schema_name()):
        ledger_append(**fields)


def _tenant_ledger_append(*, schema_name: str, **fields) -> None:
    with schema_context(schema_name):
        ledger_append(**fields)


def subscription_start(*, tenant, plan_slug: str = "free", actor_id: str = "system", at: datetime | None = None):
    """Put a new tenant on ``plan_slug``; its billing periods are anchored on ``at`` (now)."""
    at = at or timezone.now()
    with transaction.atomic():
        plan = Plan.objects.get(slug=plan_slug)
        subscription = Subscription.objects.create(tenant=tenant, plan=plan, started_at=at)
        _billing_ledger_append(
            kind=events.SUBSCRIPTION_STARTED,
            actor_type="system",
            actor_id=actor_id,
            reason=f"{tenant.name} started on {plan.name}",
            body={"tenant": tenant.schema_name, "plan": plan.slug, "started_at": at.isoformat()},
        )
        _period_ensure(subscription=subscription, at=at)
    return subscription


def subscription_change_tier(
    *,
    tenant,
    plan_slug: str,
    actor_id: str,
    reason: str,
    actor_type: str = "billing",
    source: str = "admin",
    custom_price_cents: int | None = None,
) -> Subscription:
    """Move ``tenant`` to another plan, effective immediately (entitlements and quota).

    Recorded in the billing ledger and in the tenant's own ledger (who, from, to, why). The
    current period is billed at the plan in force when it closes.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Say why the tier changes; it is written to the billing ledger."})
    try:
        plan = Plan.objects.get(slug=plan_slug)
    except Plan.DoesNotExist:
        raise ValidationError({"plan": f"There is no plan {plan_slug!r}."}) from None
    with transaction.atomic():
        subscription = Subscription.objects.select_for_update().select_related("plan").get(tenant=tenant)
        previous = subscription.plan
        if previous.pk == plan.pk and custom_price_cents == subscription.custom_price_cents:
            raise ValidationError({"plan": f"{tenant.name} is on {plan.name} already."})
        subscription.plan = plan
        subscription.custom_price_cents = custom_price_cents if plan.price_cents is None else None
        subscription.save(update_fields=["plan", "custom_price_cents", "updated_at"])
        body = {
            "tenant": tenant.schema_name,
            "from": previous.slug,
            "to": plan.slug,
            "custom_price_cents": subscription.custom_price_cents,
        }
        fields = {
            "kind": events.TIER_CHANGED,
            "actor_type": actor_type,
            "actor_id": actor_id,
            "source": source,
            "stage_from": previous.slug,
            "stage_to": plan.slug,
            "reason": reason,
            "body": body,
        }
        _billing_ledger_append(**fields)
        _tenant_ledger_append(schema_name=tenant.schema_name, **fields)
    return subscription


def _period_ensure(*, subscription: Subscription, at: datetime) -> tuple[datetime, datetime]:
    """Create the counter row of the period containing ``at`` if missing (a quota reset)."""
    start, end = period_bounds(anchor=subscription.started_at, at=at)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO public.billing_usageperiod (tenant_id, period_start, period_end, incident_count)"
            " VALUES (%s, %s, %s, 0) ON CONFLICT (tenant_id, period_start) DO NOTHING RETURNING id",
            [subscription.tenant_id, start, end],
        )
        created = cursor.fetchone() is not None
    if created:
        _billing_ledger_append(
            kind=events.QUOTA_RESET,
            actor_type="system",
            reason=f"new billing period for {subscription.tenant.schema_name}",
            body={
                "tenant": subscription.tenant.schema_name,
                "plan": subscription.plan.slug,
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "incidents_per_period": subscription.plan.incidents_per_period,
            },
        )
    return start, end


def incident_quota_consume(*, tenant, at: datetime | None = None) -> QuotaDecision:
    """Count one incident in ``tenant``'s current billing period and say what the quota allows.

    Safe under concurrent workers: the increment is one conditional UPDATE … RETURNING on the
    period's row (whose lock is held until the caller's transaction ends), and the "first over
    quota" flag is set by a second conditional UPDATE that only one caller can win. Call it
    inside the transaction that records the incident, so a rolled-back incident is not counted.
    """
    at = at or timezone.now()
    with transaction.atomic():
        subscription = Subscription.objects.select_related("plan", "tenant").get(tenant__schema_name=tenant.schema_name)
        start, _ = _period_ensure(subscription=subscription, at=at)
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE public.billing_usageperiod SET incident_count = incident_count + 1"
                " WHERE tenant_id = %s AND period_start = %s RETURNING id, incident_count",
                [subscription.tenant_id, start],
            )
            period_id, count = cursor.fetchone()
            limit = subscription.plan.incidents_per_period
            over = limit is not None and count > limit
            first_over = False
            if over:
                cursor.execute(
                    "UPDATE public.billing_usageperiod SET quota_reached_at = %s"
                    " WHERE id = %s AND quota_reached_at IS NULL RETURNING id",
                    [at, period_id],
                )
                first_over = cursor.fetchone() is not None
    has_overage = subscription.plan.overage_cents_per_incident is not None
    return QuotaDecision(
        count=count,
        limit=limit,
        within_quota=not over or has_overage,
        overage=over and has_overage,
        first_over_quota=first_over,
    )


def invoice_finalise(*, usage_period: UsagePeriod, subscription: Subscription, at: datetime) -> Invoice | None:
    """Close a finished period: snapshot its invoice (paid plans) and record it in the billing ledger."""
    amounts = invoice_amounts(subscription=subscription, incident_count=usage_period.incident_count)
    invoice = None
    with transaction.atomic():
        UsagePeriod.objects.filter(pk=usage_period.pk).update(closed_at=at)
        if amounts.total_cents > 0 or subscription.plan.price_cents is None:
            invoice = Invoice.objects.create(
                tenant_id=subscription.tenant_id,
                usage_period=usage_period,
                period_start=usage_period.period_start,
                period_end=usage_period.period_end,
                plan_slug=subscription.plan.slug,
                plan_name=subscription.plan.name,
                base_cents=amounts.base_cents,
                included_incidents=amounts.included_incidents,
                incident_count=amounts.incident_count,
                overage_count=amounts.overage_count,
                overage_cents_per_incident=amounts.overage_cents_per_incident,
                overage_cents=amounts.overage_cents,
                total_cents=amounts.total_cents,
                finalised_at=at,
            )
            _billing_ledger_append(
                kind=events.INVOICE_FINALISED,
                actor_type="system",
                reason=f"invoice of {subscription.tenant.schema_name} from {usage_period.period_start:%Y-%m-%d}",
                body={
                    "tenant": subscription.tenant.schema_name,
                    "invoice": invoice.pk,
                    "plan": invoice.plan_slug,
                    "period_start": invoice.period_start.isoformat(),
                    "period_end": invoice.period_end.isoformat(),
                    "base_cents": invoice.base_cents,
                    "incident_count": invoice.incident_count,
                    "overage_count": invoice.overage_count,
                    "overage_cents": invoice.overage_cents,
                    "total_cents": invoice.total_cents,
                },
            )
            transaction.on_commit(lambda: payment_provider().invoice_finalised(invoice=invoice))
    return invoice


def billing_periods_close(*, at: datetime | None = None) -> list[Invoice]:
    """Close every ended, unclosed period of every subscription and open the current ones.

    Idempotent: a closed period is never closed again, so running it twice (or late) is safe.
    """
    at = at or timezone.now()
    invoices: list[Invoice] = []
    for subscription in Subscription.objects.select_related("plan", "tenant").order_by("pk"):
        with transaction.atomic():
            Subscription.objects.select_for_update().filter(pk=subscription.pk).first()
            last_closed = (
                UsagePeriod.objects.filter(tenant_id=subscription.tenant_id, closed_at__isnull=False)
                .order_by("-period_end")
                .values_list("period_end", flat=True)
                .first()
            )
            start = last_closed or subscription.started_at
            for _ in range(_MAX_PERIODS_PER_CLOSE):
                period_start, period_end = period_bounds(anchor=subscription.started_at, at=start)
                if period_end > at:
                    break
                _period_ensure(subscription=subscription, at=period_start)
                usage = UsagePeriod.objects.get(tenant_id=subscription.tenant_id, period_start=period_start)
                if usage.closed_at is None:
                    invoice = invoice_finalise(usage_period=usage, subscription=subscription, at=at)
                    if invoice is not None:
                        invoices.append(invoice)
                start = period_end
            _period_ensure(subscription=subscription, at=at)
    return invoices
