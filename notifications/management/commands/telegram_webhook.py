"""Register a tenant's Telegram webhook (``setWebhook``) with its derived secret token."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from notifications.inbound import telegram_webhook_secret
from notifications.providers.base import DeliveryError
from notifications.providers.telegram import telegram_call
from notifications.services import channel_credentials
from tenants.configuration.models import ChannelSetting
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Point the tenant's Telegram bot at https://<tenant host>/telegram/webhook with its secret token."

    def add_arguments(self, parser) -> None:
        parser.add_argument("schema", help="the tenant's schema name")

    def handle(self, *args, **options) -> None:
        tenant = Tenant.objects.filter(schema_name=options["schema"]).first()
        if tenant is None:
            raise CommandError(f"no tenant with schema {options['schema']!r}")
        with tenant_context(tenant):
            channel = ChannelSetting.objects.filter(kind="telegram").first()
            if channel is None:
                raise CommandError("the tenant has no Telegram channel")
            base = urlsplit(settings.ALERTENGINE_BASE_URL)
            port = f":{base.port}" if base.port else ""
            url = f"{base.scheme}://{tenant.get_primary_domain().domain}{port}/telegram/webhook"
            try:
                telegram_call(channel_credentials(channel), "set_webhook", url=url,
                              secret_token=telegram_webhook_secret(tenant.schema_name),
                              allowed_updates=["message", "callback_query"])
            except DeliveryError as exc:
                raise CommandError(f"Telegram refused the webhook: {exc}") from None
        self.stdout.write(f"webhook set to {url}")
