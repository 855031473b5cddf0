"""ASGI entry point."""

from saas.entrypoint import configured


def _load():
    from django.core.asgi import get_asgi_application

    return get_asgi_application()


application = configured(_load)
