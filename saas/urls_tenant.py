"""URLs of a tenant host (``<subdomain>.<base domain>``)."""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
