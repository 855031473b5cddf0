"""Create the local demo: the public site, the demo tenant (Enterprise) and their admins (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from billing.selectors import entitlements
from billing.services import subscription_change_tier
from tenants.models import Tenant
from tenants.services import public_tenant_ensure, tenant_create, tenant_host

DEMO_SUBDOMAIN = "demo"
DEMO_TIER = "enterprise"
DEMO_USERNAME = "admin"
DEMO_PASSWORD = "alertengine-demo"  # noqa: S105 - local demo only; the command refuses production


class Command(BaseCommand):
    help = "Create the demo tenant and demo admins for the local demo (refused in production)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, port: int, **options) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_setup creates known credentials and is refused when ALERTENGINE_ENV=production")
        public_tenant_ensure()
        tenant = self._ensure_tenant()
        self._ensure_tier(tenant)
        for schema in ("public", tenant.schema_name):
            with schema_context(schema):
                self._ensure_admin()
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
        """Every feature is on in the demo."""
        if entitlements(tenant=tenant).tier != DEMO_TIER:
            subscription_change_tier(
                tenant=tenant,
                plan_slug=DEMO_TIER,
                actor_type="system",
                actor_id="demo_setup",
                source="system",
                reason="the local demo shows every feature",
            )

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True, "email": "admin@demo.localhost"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
