"""Shared start-up for process entry points: one clear line on bad configuration."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def configured(load: Callable[[], T]) -> T:
    """Run ``load`` (which imports settings); on a configuration error print one line and exit 2."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "saas.settings")
    from saas.config import ConfigurationError

    try:
        return load()
    except ConfigurationError as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        raise SystemExit(2) from None
