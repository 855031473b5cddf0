"""API key authentication: ``Authorization: Api-Key <key>`` (``Bearer <key>`` is accepted too)."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from tenants.configuration.models import ApiKey
from tenants.configuration.secrets import api_key_hash, api_key_tag
from tenants.middleware import presented_api_key
from tenants.tags import tenant_tag

# Writing last_used_at on every request would turn every read into a write.
_LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiKeyPrincipal:
    """The ``request.user`` of a request authenticated by an API key (not a tenant user)."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, api_key: ApiKey) -> None:
        self.api_key = api_key
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        key = presented_api_key(request._request)
        if key is None:
            return None
        if api_key_tag(key) not in (None, tenant_tag(connection.schema_name)):
            raise exceptions.PermissionDenied("This API key belongs to another organisation.")
        api_key = ApiKey.objects.filter(key_hash=api_key_hash(key), revoked_at__isnull=True).first()
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API key.")
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at > _LAST_USED_RESOLUTION:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        return self.keyword


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describes the API key in the published OpenAPI schema."""

    target_class = "tenants.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`; create and revoke keys in the tenant admin.",
        }
