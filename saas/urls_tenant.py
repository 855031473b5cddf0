"""URLs of a tenant host (``<subdomain>.<base domain>``)."""

from django.contrib import admin
from django.urls import include, path

from incidents.github import commits_webhook
from saas.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/", include("tenants.api.urls")),
    path("commits/webhook", commits_webhook, name="commits_webhook"),
    path("", include("incidents.urls")),
    path("", include("tenants.urls_tenant")),
]
