"""URLs of the public host (sign-up, platform admin, billing console)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
