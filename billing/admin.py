"""The billing console in the public admin: plans, subscriptions (change tier), invoices, dashboard.

Billing staff (the "Billing staff" group) see and change billing records only: tenant
configuration, incidents and ledgers live in the tenants' schemas, which the public admin never
reads, and platform users cannot sign in to a tenant's host.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.template.response import TemplateResponse
from django.urls import path

from billing.models import Invoice, Plan, Subscription
from billing.selectors import billing_overview, current_usage, mrr_by_tier
from billing.services import subscription_change_tier
from tenants.admin_scopes import PublicSchemaOnlyAdmin

NEAR_QUOTA = 0.8


def dollars(cents: int | None) -> str:
    """``1234`` → ``$12.34``; ``None`` → ``custom``."""
    return "custom" if cents is None else f"${cents / 100:,.2f}"


class ReadOnlyAdmin(PublicSchemaOnlyAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Plan)
class PlanAdmin(ReadOnlyAdmin):
    list_display = ("name", "price", "max_services", "incidents_per_period", "overage", "channel_list", "feature_list")

    @admin.display(description="price / month")
    def price(self, plan: Plan) -> str:
        return dollars(plan.price_cents)

    @admin.display(description="overage / incident")
    def overage(self, plan: Plan) -> str:
        return "—" if plan.overage_cents_per_incident is None else dollars(plan.overage_cents_per_incident)

    @admin.display(description="channels")
    def channel_list(self, plan: Plan) -> str:
        return ", ".join(plan.channels) or "—"

    @admin.display(description="features")
    def feature_list(self, plan: Plan) -> str:
        return ", ".join(plan.features) or "—"


class TierChangeForm(forms.ModelForm):
    reason = forms.CharField(
        max_length=500, widget=forms.Textarea(attrs={"rows": 2}), help_text="Written to the billing ledger."
    )

    class Meta:
        model = Subscription
        fields = ["plan", "custom_price_cents"]

    def clean(self) -> dict:
        cleaned = super().clean()
        plan = cleaned.get("plan")
        if plan is not None and plan.price_cents is not None and cleaned.get("custom_price_cents") is not None:
            self.add_error("custom_price_cents", f"{plan.name} has a list price; a custom price is for custom plans.")
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(PublicSchemaOnlyAdmin):
    form = TierChangeForm
    list_display = ("tenant", "plan", "tenant_status", "period", "usage", "projected_invoice")
    list_filter = ("plan",)
    search_fields = ("tenant__name", "tenant__schema_name")
    list_select_related = ("plan", "tenant")
    readonly_fields = ("tenant", "started_at", "period", "usage", "projected_invoice")
    fields = ("tenant", "started_at", "period", "usage", "projected_invoice", "plan", "custom_price_cents", "reason")

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="status")
    def tenant_status(self, subscription: Subscription) -> str:
        return subscription.tenant.get_status_display()

    @admin.display(description="current period")
    def period(self, subscription: Subscription) -> str:
        row = current_usage(subscription=subscription)
        return f"{row.period_start:%Y-%m-%d} to {row.period_end:%Y-%m-%d}"

    @admin.display(description="incidents this period")
    def usage(self, subscription: Subscription) -> str:
        row = current_usage(subscription=subscription)
        limit = "unlimited" if row.limit is None else row.limit
        return f"{row.incident_count} / {limit}"

    @admin.display(description="projected invoice")
    def projected_invoice(self, subscription: Subscription) -> str:
        amounts = current_usage(subscription=subscription).amounts
        if amounts.overage_cents:
            base, overage = dollars(amounts.base_cents), dollars(amounts.overage_cents)
            return f"{dollars(amounts.total_cents)} ({base} + {overage} overage)"
        return dollars(amounts.total_cents)

    def save_model(self, request, obj: Subscription, form, change: bool) -> None:
        stored = Subscription.objects.select_related("plan").get(pk=obj.pk)
        try:
            subscription_change_tier(
                tenant=obj.tenant,
                plan_slug=form.cleaned_data["plan"].slug,
                custom_price_cents=form.cleaned_data.get("custom_price_cents"),
                actor_id=f"user:{request.user.get_username()}",
                reason=form.cleaned_data["reason"],
            )
        except ValidationError as error:
            messages.warning(request, " ".join(error.messages))
        else:
            messages.success(request, f"{obj.tenant.name}: {stored.plan.name} → {form.cleaned_data['plan'].name}.")

    def get_urls(self):
        dashboard = path("dashboard/", self.admin_site.admin_view(self.dashboard_view), name="billing_dashboard")
        return [dashboard, *super().get_urls()]

    def dashboard_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        rows = billing_overview()
        tiers = mrr_by_tier(rows=rows)
        top = max((tier.mrr_cents for tier in tiers), default=0) or 1
        chart = [
            {"name": tier.plan.name, "tenants": tier.tenants, "mrr": dollars(tier.mrr_cents),
             "width": round(300 * tier.mrr_cents / top), "y": 10 + index * 28}
            for index, tier in enumerate(tiers)
        ]  # fmt: skip
        watch = [row for row in rows if row.usage_ratio is not None and row.usage_ratio >= NEAR_QUOTA]
        context = {
            **self.admin_site.each_context(request),
            "title": "Billing dashboard",
            "opts": self.model._meta,
            "tiers": tiers,
            "chart": chart,
            "chart_height": 20 + 28 * len(chart),
            "mrr_total": dollars(sum(tier.mrr_cents for tier in tiers)),
            "watch": [
                {"row": row, "percent": round(100 * row.usage_ratio), "over": row.incident_count > (row.limit or 0)}
                for row in sorted(watch, key=lambda r: -r.usage_ratio)
            ],
            "projected": [
                {
                    "row": row,
                    "base": dollars(row.amounts.base_cents),
                    "overage": dollars(row.amounts.overage_cents),
                    "total": dollars(row.amounts.total_cents),
                }
                for row in rows
            ],
            "projected_total": dollars(sum(row.amounts.total_cents for row in rows)),
        }
        return TemplateResponse(request, "billing/dashboard.html", context)


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ("pk", "tenant", "plan_name", "period_start", "period_end", "total", "status")
    list_filter = ("status", "plan_slug")
    search_fields = ("tenant__name", "tenant__schema_name")
    fields = (
        "tenant", "plan_name", "period_start", "period_end", "base", "included_incidents", "incident_count",
        "overage_count", "overage_rate", "overage", "total", "status", "payment_reference", "finalised_at",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="base fee")
    def base(self, invoice: Invoice) -> str:
        return dollars(invoice.base_cents)

    @admin.display(description="overage rate")
    def overage_rate(self, invoice: Invoice) -> str:
        return (
            "no overage" if invoice.overage_cents_per_incident is None else dollars(invoice.overage_cents_per_incident)
        )

    @admin.display(description="overage")
    def overage(self, invoice: Invoice) -> str:
        return dollars(invoice.overage_cents)

    @admin.display(description="total")
    def total(self, invoice: Invoice) -> str:
        return dollars(invoice.total_cents)
