"""Plan limits on configuration: refused with a message that names the plan."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection

from billing.selectors import entitlements


def service_limit_check(*, service) -> None:
    """Refuse a new service beyond the plan's ``max_services``."""
    from tenants.configuration.models import Service

    if service.pk is not None:
        return
    plan = entitlements(tenant=connection.tenant)
    if plan.max_services is None:
        return
    existing = Service.objects.count()
    if existing >= plan.max_services:
        if plan.max_services == 0:
            message = (
                f"The {plan.tier_name} plan does not include polled services (SDK only). Upgrade to add a service."
            )
        else:
            message = (
                f"The {plan.tier_name} plan includes {plan.max_services} service"
                f"{'s' if plan.max_services != 1 else ''}, and you have {existing}. Upgrade to add another."
            )
        raise ValidationError(message, code="plan_limit")


def channel_check(*, channel) -> None:
    """Refuse enabling a channel the plan lacks, and an enabled channel missing its credentials."""
    from tenants.configuration.models import PLATFORM_DEFAULT_KINDS, REQUIRED_CREDENTIALS

    errors: dict[str, list[str]] = {}
    if channel.enabled:
        plan = entitlements(tenant=connection.tenant)
        if not plan.allows_channel(channel.kind):
            errors.setdefault("enabled", []).append(
                f"The {plan.tier_name} plan does not include the {channel.get_kind_display()} channel. "
                "Upgrade to enable it."
            )
        # Slack and the generic webhook have no platform default: they always need their URL.
        if not channel.use_platform_default or channel.kind not in PLATFORM_DEFAULT_KINDS:
            for field in REQUIRED_CREDENTIALS.get(channel.kind, ()):
                if not getattr(channel, field):
                    errors.setdefault(field, []).append(f"Required to enable {channel.get_kind_display()}.")
    if errors:
        raise ValidationError(errors)
