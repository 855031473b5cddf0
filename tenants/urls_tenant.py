"""Tenant-host pages of the tenants app."""

from django.urls import path

from tenants import views

urlpatterns = [
    path("welcome/", views.welcome, name="welcome"),
]
