"""URLs of the public host (sign-up, platform admin, billing console)."""

from django.contrib import admin
from django.urls import include, path

from saas.health import healthz, readyz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("", include("tenants.urls_public")),
]
