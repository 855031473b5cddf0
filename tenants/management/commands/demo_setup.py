"""Create the local demo: the public site, the demo tenant (Enterprise) and their admins (idempotent)."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from billing.models import Subscription
from billing.selectors import entitlements
from billing.services import subscription_change_tier, subscription_start
from incidents.models import CommitSource
from tenants.configuration.models import ChannelSetting, Contact, RecoveryAction, Service
from tenants.configuration.services import recovery_action_create
from tenants.models import Tenant
from tenants.services import public_tenant_ensure, tenant_create, tenant_host

DEMO_SUBDOMAIN = "demo"
DEMO_TIER = "enterprise"
DEMO_USERNAME = "admin"
DEMO_PHONE = "+263771234567"
DEMO_TELEGRAM_CHAT = "100200300"
DEMO_PASSWORD = "alertengine-demo"  # noqa: S105 - local demo only; the command refuses production


class Command(BaseCommand):
    help = "Create the demo tenant and demo admins for the local demo (refused in production)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--service-url", default="http://127.0.0.1:8100",
                            help="base URL of the demo service (examples/demo_service.py)")

    def handle(self, *args, port: int, service_url: str, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_setup creates known credentials and is refused when ALERTENGINE_ENV=production")
        public_tenant_ensure()
        tenant = self._ensure_tenant()
        self._ensure_tier(tenant)
        for schema in ("public", tenant.schema_name):
            with schema_context(schema):
                self._ensure_admin()
        with schema_context(tenant.schema_name):
            credentials = self._ensure_demo_configuration(service_url=service_url.rstrip("/"), port=port)
        path = Path(os.environ.get("ALERTENGINE_DEV_DATA") or Path(settings.BASE_DIR) / ".data") / "demo.json"
        path.parent.mkdir(exist_ok=True)
        path.write_text(json.dumps(credentials))
        path.chmod(0o600)
        self.stdout.write(
            f"Demo ready.\n"
            f"  Platform admin:    http://{settings.ALERTENGINE_BASE_DOMAIN}:{port}/admin/\n"
            f"  Demo tenant admin: http://{tenant_host(subdomain=DEMO_SUBDOMAIN)}:{port}/admin/\n"
            f"  Username / password (both admins): {DEMO_USERNAME} / {DEMO_PASSWORD}"
        )

    def _ensure_tenant(self) -> Tenant:
        tenant = Tenant.objects.filter(schema_name=DEMO_SUBDOMAIN).first()
        return tenant or tenant_create(name="Demo Ltd", subdomain=DEMO_SUBDOMAIN)

    def _ensure_tier(self, tenant: Tenant) -> None:
        """Every feature is on in the demo (a demo tenant made by an older version may lack a plan)."""
        if not Subscription.objects.filter(tenant=tenant).exists():
            subscription_start(tenant=tenant, plan_slug=DEMO_TIER, actor_id="demo_setup")
        if entitlements(tenant=tenant).tier != DEMO_TIER:
            subscription_change_tier(
                tenant=tenant,
                plan_slug=DEMO_TIER,
                actor_type="system",
                actor_id="demo_setup",
                source="system",
                reason="the local demo shows every feature",
            )

    def _ensure_demo_configuration(self, *, service_url: str, port: int) -> dict[str, str]:
        """The demo service, an on-call contact on WhatsApp and Telegram, and restart_worker_pool.

        Returns what the demo service needs to know: the action's signing secret (a real tenant
        copies it from the admin, where it is shown once) and the GitHub webhook secret.
        """
        Service.objects.update_or_create(
            name="Checkout API", defaults={"health_url": f"{service_url}/health/alerts", "enabled": True})
        Contact.objects.update_or_create(
            name="Tendai (on call)",
            defaults={"phone_e164": DEMO_PHONE, "telegram_chat_id": DEMO_TELEGRAM_CHAT, "escalation_order": 1,
                      "active": True})
        for order, kind in enumerate(("whatsapp_twilio", "telegram"), start=1):
            ChannelSetting.objects.update_or_create(
                kind=kind, defaults={"enabled": True, "fallback_order": order, "use_platform_default": True})
        action = RecoveryAction.objects.filter(name="restart_worker_pool").first()
        if action is None:
            action, _ = recovery_action_create(
                action=RecoveryAction(name="restart_worker_pool", description="Restart the checkout worker pool",
                                      webhook_url=f"{service_url}/recovery", enabled=True),
                actor_id="demo_setup", source="system")
        source = CommitSource.objects.first() or CommitSource.objects.create(
            webhook_secret=secrets.token_urlsafe(24), github_token="ghp_devfake")  # noqa: S106 - the fake's token
        return {
            "webhook_secret": action.signing_secret,
            "github_secret": source.webhook_secret,
            "commits_webhook_url": f"http://{tenant_host(subdomain=DEMO_SUBDOMAIN)}:{port}/commits/webhook",
        }

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True, "email": "admin@demo.localhost"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
