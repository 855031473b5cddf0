"""The tenant admin (on the tenant's host): services, contacts, channels, recovery actions, API keys.

Saves and deletes go through :mod:`tenants.configuration.services` (plan limits, ledger entries).
Secrets are never rendered back: their inputs are empty password fields, a stored secret shows as
a masked hint, and a blank submission keeps it. Generated secrets (signing secrets, API keys)
are shown once, on the page that follows their creation.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.template.response import TemplateResponse

from billing.selectors import entitlements
from saas.fields import mask_secret
from tenants.admin_scopes import TenantSchemaOnlyAdmin
from tenants.configuration.models import SECRET_FIELDS, ApiKey, ChannelSetting, Contact, RecoveryAction, Service
from tenants.configuration.services import (
    api_key_issue,
    api_key_revoke,
    configuration_delete,
    configuration_save,
    recovery_action_create,
    recovery_action_rotate_secret,
)


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


class SecretKeepingForm(forms.ModelForm):
    """Secret inputs start empty; a stored secret is hinted at, and kept when left blank."""

    secret_fields: tuple[str, ...] = ()

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            field = self.fields.get(name)
            if field is None:
                continue
            field.required = False
            stored = getattr(self.instance, name, "") if self.instance.pk else ""
            if stored:
                field.help_text = f"Stored ({mask_secret(stored)}). Leave blank to keep it, or type a new value."

    def clean(self) -> dict:
        cleaned = super().clean()
        for name in self.secret_fields:
            if name in cleaned and not cleaned[name] and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


class ConfigurationAdmin(TenantSchemaOnlyAdmin):
    """Writes through the configuration services; view-only users never get secret fields."""

    secret_fields: tuple[str, ...] = ()

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        if not self.has_change_permission(request, obj) and obj is not None:
            excluded += list(self.secret_fields)
        return excluded

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if issubclass(form, SecretKeepingForm):
            form.secret_fields = self.secret_fields
        return form

    def save_model(self, request, obj, form, change: bool) -> None:
        configuration_save(instance=obj, actor_id=_actor(request), source="admin")

    def delete_model(self, request, obj) -> None:
        configuration_delete(instance=obj, actor_id=_actor(request), source="admin")

    def delete_queryset(self, request, queryset) -> None:
        for obj in queryset:
            configuration_delete(instance=obj, actor_id=_actor(request), source="admin")


class ServiceForm(SecretKeepingForm):
    class Meta:
        model = Service
        fields = ["name", "health_url", "poll_token", "enabled"]


@admin.register(Service)
class ServiceAdmin(ConfigurationAdmin):
    form = ServiceForm
    secret_fields = ("poll_token",)
    list_display = ("name", "health_url", "enabled", "has_poll_token", "created_at")
    list_filter = ("enabled",)
    search_fields = ("name", "health_url")

    @admin.display(boolean=True, description="poll token")
    def has_poll_token(self, service: Service) -> bool:
        return bool(service.poll_token)

    def changelist_view(self, request, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        plan = entitlements(tenant=connection.tenant)
        limit = "unlimited" if plan.max_services is None else str(plan.max_services)
        note = f"{plan.tier_name} plan: {Service.objects.count()} of {limit} services."
        return super().changelist_view(request, {**(extra_context or {}), "plan_note": note})


@admin.register(Contact)
class ContactAdmin(ConfigurationAdmin):
    list_display = ("name", "phone_e164", "telegram_status", "user", "escalation_order", "active")
    list_editable = ("escalation_order", "active")
    list_filter = ("active",)
    search_fields = ("name", "phone_e164")
    fields = ("name", "phone_e164", "user", "escalation_order", "active", "telegram_status", "telegram_link")
    readonly_fields = ("telegram_status", "telegram_link")

    @admin.display(description="Telegram")
    def telegram_status(self, contact: Contact) -> str:
        return "linked" if contact.telegram_linked else "not linked"

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj):
            # The code links a Telegram account to this contact: whoever sees it could approve as them.
            fields.remove("telegram_link")
        return fields

    @admin.display(description="Telegram link code")
    def telegram_link(self, contact: Contact) -> str:
        if not contact.pk:
            return "Generated when the contact is saved."
        if contact.telegram_linked:
            return "Linked."
        return f"The contact sends “/start {contact.telegram_link_code}” to the alert bot to link their Telegram."


class ChannelForm(SecretKeepingForm):
    class Meta:
        model = ChannelSetting
        fields = [
            "kind", "enabled", "fallback_order", "use_platform_default", "twilio_account_sid", "twilio_auth_token",
            "twilio_from", "sentdm_api_key", "sentdm_sender_id", "telegram_bot_token", "slack_webhook_url",
            "webhook_url", "webhook_secret",
        ]  # fmt: skip


@admin.register(ChannelSetting)
class ChannelSettingAdmin(ConfigurationAdmin):
    form = ChannelForm
    secret_fields = SECRET_FIELDS
    list_display = ("kind", "enabled", "in_plan", "fallback_order", "use_platform_default")
    list_filter = ("enabled",)
    fieldsets = (
        (None, {"fields": ("kind", "enabled", "fallback_order", "use_platform_default")}),
        ("WhatsApp or voice via Twilio", {"fields": ("twilio_account_sid", "twilio_auth_token", "twilio_from")}),
        ("WhatsApp via Sent.dm", {"fields": ("sentdm_api_key", "sentdm_sender_id")}),
        ("Telegram", {"fields": ("telegram_bot_token",)}),
        ("Slack", {"fields": ("slack_webhook_url",)}),
        ("Generic webhook", {"fields": ("webhook_url", "webhook_secret")}),
    )

    @admin.display(boolean=True, description="in your plan")
    def in_plan(self, channel: ChannelSetting) -> bool:
        return entitlements(tenant=connection.tenant).allows_channel(channel.kind)

    def get_fieldsets(self, request, obj=None):
        if not self.has_change_permission(request, obj) and obj is not None:
            return [(None, {"fields": ("kind", "enabled", "fallback_order", "use_platform_default")})]
        return super().get_fieldsets(request, obj)


def _shown_once(request, *, admin_site, title: str, label: str, secret: str, back_url: str) -> TemplateResponse:
    response = TemplateResponse(
        request,
        "admin/configuration/shown_once.html",
        {**admin_site.each_context(request), "title": title, "label": label, "secret": secret, "back_url": back_url},
    )
    response["Cache-Control"] = "no-store"
    return response


@admin.register(RecoveryAction)
class RecoveryActionAdmin(ConfigurationAdmin):
    list_display = ("name", "webhook_url", "enabled")
    list_filter = ("enabled",)
    fields = ("name", "description", "webhook_url", "enabled", "signing_secret_hint")
    readonly_fields = ("signing_secret_hint",)
    actions = ["rotate_secret"]

    @admin.display(description="signing secret")
    def signing_secret_hint(self, action: RecoveryAction) -> str:
        if not action.pk:
            return "Generated when the action is saved, and shown once."
        return f"{action.signing_secret[:6]}•••• (shown once at creation; use “Replace signing secret” for a new one)"

    def save_model(self, request, obj, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            recovery_action_create(action=obj, actor_id=_actor(request), source="admin")

    def response_add(self, request, obj, post_url_continue=None):
        return _shown_once(
            request,
            admin_site=self.admin_site,
            title=f"Signing secret of {obj.name}",
            label="Configure your recovery webhook to verify signatures with this secret. It is not shown again.",
            secret=obj.signing_secret,
            back_url="../",
        )

    @admin.action(description="Replace signing secret (shown once)", permissions=["change"])
    def rotate_secret(self, request, queryset):
        # The new secret can sign recovery calls: only someone who may change the action sees it.
        if not self.has_change_permission(request):
            self.message_user(request, "You may not replace signing secrets.", messages.ERROR)
            return None
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one recovery action.", messages.ERROR)
            return None
        action = queryset.get()
        secret = recovery_action_rotate_secret(action=action, actor_id=_actor(request))
        return _shown_once(
            request,
            admin_site=self.admin_site,
            title=f"New signing secret of {action.name}",
            label="The old secret no longer verifies. Update your recovery webhook now; this is not shown again.",
            secret=secret,
            back_url=".",
        )


@admin.register(ApiKey)
class ApiKeyAdmin(ConfigurationAdmin):
    list_display = ("name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    fields = ("name", "prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "created_by", "last_used_at", "revoked_at")
    actions = ["revoke"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # Revoked keys stay listed, for the record.
        return False

    def has_add_permission(self, request) -> bool:
        # A key can do everything the API can: only a tenant superuser may mint one.
        return bool(request.user.is_superuser) and super().has_add_permission(request)

    def save_model(self, request, obj, form, change: bool) -> None:
        request._api_key_shown_once = api_key_issue(
            api_key=obj, schema_name=connection.schema_name, created_by=request.user, actor_id=_actor(request)
        )

    def response_add(self, request, obj, post_url_continue=None):
        return _shown_once(
            request,
            admin_site=self.admin_site,
            title=f"API key {obj.name}",
            label="Send it as “Authorization: Api-Key <key>”. Only its hash is stored: copy it now.",
            secret=request._api_key_shown_once,
            back_url="../",
        )

    @admin.action(description="Revoke selected API keys")
    def revoke(self, request, queryset):
        if not super().has_change_permission(request):
            self.message_user(request, "You may not revoke API keys.", messages.ERROR)
            return
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key, actor_id=_actor(request))
        self.message_user(request, "Revoked.", messages.SUCCESS)
