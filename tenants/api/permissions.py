"""Who may use the tenant API: an API key of this tenant, or a staff user of this tenant."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from tenants.api.authentication import ApiKeyPrincipal


class IsTenantAdmin(BasePermission):
    message = "Authenticate with an API key or as a staff user of this organisation."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            return True
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
