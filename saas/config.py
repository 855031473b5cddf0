"""Environment configuration, read once at start-up and validated.

Settings call :func:`env` and friends; any problem raises :class:`ConfigurationError`
whose message starts with the variable's name, so the process entry points
(``manage.py``, the Celery app, ASGI/WSGI) can print one clear line and exit.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

ENVIRONMENTS = ("development", "test", "production")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigurationError(ImproperlyConfigured):
    """A configuration variable is missing, malformed or too weak."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


def env(name: str, default: str | None = None, *, required: bool = False) -> str | None:
    """Return the variable's value, ``default`` when unset, or fail when required."""
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            raise ConfigurationError(name, "is required but not set")
        return default
    return value


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    lowered = raw.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(name, f"must be a boolean (1/0, true/false), got {raw!r}")


def env_number(name: str, default: T, cast: Callable[[str], T], *, minimum: float | None = None) -> T:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = cast(raw)
    except ValueError:
        raise ConfigurationError(name, f"must be a number, got {raw!r}") from None
    if minimum is not None and value < minimum:  # type: ignore[operator]
        raise ConfigurationError(name, f"must be at least {minimum}, got {raw!r}")
    return value


def env_choice(name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env(name, default) or default
    if value not in choices:
        raise ConfigurationError(name, f"must be one of {', '.join(choices)}, got {value!r}")
    return value


def require_strong_secret(name: str, value: str | None, *, min_bytes: int, weak: frozenset[str]) -> None:
    """Refuse a missing, short or known development secret (used in production)."""
    if not value:
        raise ConfigurationError(name, "is required in production")
    if value in weak:
        raise ConfigurationError(name, "is a development default; set a random secret in production")
    if len(value.encode()) < min_bytes:
        raise ConfigurationError(name, f"must be at least {min_bytes} bytes in production, got {len(value.encode())}")
