"""Refusals that apply to every URL of a host, before any view runs.

* A suspended tenant's host answers 403 to everything: its users cannot log in or use the API.
* A session cookie or API key minted for another tenant (or the public host) answers 403, so
  credentials never carry across hosts, for endpoints added later as much as for today's.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django_tenants.utils import get_public_schema_name

from tenants.configuration.secrets import api_key_tag
from tenants.sessions import session_tag
from tenants.tags import tenant_tag

_API_PREFIX = "/api/"


def presented_api_key(request: HttpRequest) -> str | None:
    """The API key in ``Authorization: Api-Key <key>`` (or ``Bearer <key>``), if any."""
    scheme, _, credential = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if scheme.lower() not in ("api-key", "bearer") or not credential.strip():
        return None
    return credential.strip()


def _forbidden(request: HttpRequest, *, title: str, detail: str) -> HttpResponse:
    if request.path.startswith(_API_PREFIX) or "application/json" in request.headers.get("Accept", ""):
        response: HttpResponse = JsonResponse({"detail": detail}, status=403)
    else:
        body = render_to_string("tenants/forbidden.html", {"title": title, "detail": detail}, request=None)
        response = HttpResponse(body, status=403)
    return response


class TenantAccessMiddleware:
    """Place right after django-tenants' ``TenantMainMiddleware`` (it needs ``request.tenant``)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        tenant = getattr(request, "tenant", None)
        if tenant is None:
            return self.get_response(request)
        if tenant.schema_name != get_public_schema_name() and getattr(tenant, "status", "active") != "active":
            return _forbidden(
                request,
                title="This organisation is suspended",
                detail="This organisation's account is suspended. Contact AlertEngine support to restore access.",
            )
        expected = tenant_tag(tenant.schema_name)
        cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
        if cookie and session_tag(cookie) != expected:
            response = _forbidden(
                request,
                title="Signed in to another organisation",
                detail=(
                    "This session belongs to another organisation's host. "
                    "Sign in here with an account of this organisation."
                ),
            )
            # Drop the foreign cookie so the next visit starts clean (it is useless here anyway).
            response.delete_cookie(settings.SESSION_COOKIE_NAME)
            return response
        key = presented_api_key(request)
        if key is not None:
            tag = api_key_tag(key)
            if tag is not None and tag != expected:
                return _forbidden(
                    request,
                    title="API key of another organisation",
                    detail="This API key belongs to another organisation.",
                )
        return self.get_response(request)
