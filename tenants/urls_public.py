"""Public-host pages of the tenants app."""

from django.urls import path

from tenants import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
]
