"""The AlertEngine control plane's Django project package."""

from saas.celery import app as celery_app

__all__ = ("celery_app",)
