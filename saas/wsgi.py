"""WSGI entry point."""

from saas.entrypoint import configured


def _load():
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


application = configured(_load)
