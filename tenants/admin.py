"""The public admin's tenant list: operators create, suspend and reactivate tenants here."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.template.response import TemplateResponse

from tenants.admin_scopes import PublicSchemaOnlyAdmin, TenantSchemaOnlyAdmin
from tenants.models import Domain, Tenant
from tenants.services import subdomain_validate, tenant_create, tenant_reactivate, tenant_suspend

__all__ = ["PublicSchemaOnlyAdmin", "TenantAdmin", "TenantSchemaOnlyAdmin"]


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TenantCreateForm(forms.ModelForm):
    subdomain = forms.CharField(max_length=40, help_text="Lowercase letters, digits and hyphens.")

    class Meta:
        model = Tenant
        fields = ["name"]

    def clean_subdomain(self) -> str:
        return subdomain_validate(subdomain=self.cleaned_data["subdomain"].strip().lower())


class StatusReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


@admin.register(Tenant)
class TenantAdmin(PublicSchemaOnlyAdmin):
    list_display = ("name", "schema_name", "status", "plan", "created_at")
    list_filter = ("status", "subscription__plan")
    search_fields = ("name", "schema_name")
    readonly_fields = ("schema_name", "status", "created_at")
    actions = ["suspend", "reactivate"]

    def get_queryset(self, request):
        return super().get_queryset(request).exclude(schema_name="public").select_related("subscription__plan")

    @admin.display(description="plan", ordering="subscription__plan__rank")
    def plan(self, tenant: Tenant) -> str:
        subscription = getattr(tenant, "subscription", None)
        return subscription.plan.name if subscription else "—"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = TenantCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ["name", "subdomain"] if obj is None else ["name", "schema_name", "status", "created_at"]

    def get_inlines(self, request, obj):
        return [DomainInline] if obj is not None else []

    def has_delete_permission(self, request, obj=None) -> bool:
        # Tenants are suspended, never deleted from the admin: their ledgers must survive.
        return False

    def save_model(self, request, obj: Tenant, form, change: bool) -> None:
        if change:
            Tenant.objects.filter(pk=obj.pk).update(name=obj.name)
            return
        created = tenant_create(
            name=obj.name,
            subdomain=form.cleaned_data["subdomain"],
            actor_type="engineer",
            actor_id=f"operator:{request.user.get_username()}",
        )
        obj.pk, obj.schema_name, obj.created_at = created.pk, created.schema_name, created.created_at
        obj._state.adding = False

    def _status_action(self, request, queryset, *, service, verb: str):
        form = StatusReasonForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            for tenant in queryset:
                try:
                    service(
                        tenant=tenant,
                        actor_id=f"operator:{request.user.get_username()}",
                        reason=form.cleaned_data["reason"],
                    )
                except ValidationError as error:
                    self.message_user(request, f"{tenant.name}: {' '.join(error.messages)}", messages.WARNING)
                else:
                    self.message_user(request, f"{tenant.name} {verb}.", messages.SUCCESS)
            return None
        return TemplateResponse(
            request,
            "admin/tenants/tenant/status_change.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Why are these tenants being {verb}?",
                "form": form,
                "tenants": queryset,
                "action": request.POST.get("action"),
                "opts": self.model._meta,
            },
        )

    @admin.action(description="Suspend selected tenants (not polled, users refused)", permissions=["change"])
    def suspend(self, request, queryset):
        return self._status_action(request, queryset, service=tenant_suspend, verb="suspended")

    @admin.action(description="Reactivate selected tenants", permissions=["change"])
    def reactivate(self, request, queryset):
        return self._status_action(request, queryset, service=tenant_reactivate, verb="reactivated")
