"""Create the local demo: the public site, the demo tenant and their admins (idempotent)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import schema_context

from tenants.models import Tenant
from tenants.services import public_tenant_ensure, tenant_create, tenant_host

DEMO_SUBDOMAIN = "demo"
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
        tenant = Tenant.objects.filter(schema_name=DEMO_SUBDOMAIN).first()
        if tenant is None:
            tenant = tenant_create(name="Demo Ltd", subdomain=DEMO_SUBDOMAIN)
        for schema in ("public", tenant.schema_name):
            with schema_context(schema):
                self._ensure_admin()
        self.stdout.write(
            f"Demo ready.\n"
            f"  Platform admin:    http://{settings.ALERTENGINE_BASE_DOMAIN}:{port}/admin/\n"
            f"  Demo tenant admin: http://{tenant_host(subdomain=DEMO_SUBDOMAIN)}:{port}/admin/\n"
            f"  Username / password (both admins): {DEMO_USERNAME} / {DEMO_PASSWORD}"
        )

    def _ensure_admin(self) -> None:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True, "email": "admin@demo.localhost"}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
