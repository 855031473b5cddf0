"""Who may use the tenant API: an API key of this tenant, or a staff user of this tenant."""

from __future__ import annotations

from rest_framework.permissions import BasePermission

from tenants.api.authentication import ApiKeyPrincipal

_ACTIONS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "add", "PUT": "change", "PATCH": "change",
            "DELETE": "delete"}


class IsTenantAdmin(BasePermission):
    """An API key (only superusers issue them), or a staff user holding the model permission.

    A staff user with view rights in the admin may read through the API but not write: the
    method maps to Django's view/add/change/delete permission of the endpoint's model.
    """

    message = "Authenticate with an API key, or as a staff user of this organisation with the permission to do this."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            return True
        if not (user and user.is_authenticated and user.is_active and user.is_staff):
            return False
        queryset = getattr(view, "queryset", None)
        action = _ACTIONS.get(request.method)
        if queryset is None or action is None:
            return bool(user.is_superuser)
        opts = queryset.model._meta
        return user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")
