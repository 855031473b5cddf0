"""Validation of tenant-supplied values on save (the outbound guard checks URLs again at connect time)."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_url_syntax = URLValidator(schemes=["http", "https"])


def validate_outbound_url(value: str) -> None:
    """An http(s) URL with a host and no credentials in it (``user:pass@`` is refused)."""
    if not value:
        return
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValidationError("Use an http:// or https:// URL.", code="scheme")
    if "@" in parts.netloc or parts.username or parts.password:
        raise ValidationError(
            "Do not put credentials in the URL; use the token or secret field instead.", code="userinfo"
        )
    if not parts.hostname:
        raise ValidationError("The URL needs a host name.", code="host")
    _url_syntax(value)


def validate_e164(value: str) -> None:
    """A phone number in E.164 form: ``+`` then country code and number, 8 to 15 digits."""
    if value and not _E164.match(value):
        raise ValidationError(
            "Enter the number in international E.164 form, e.g. +263771234567 (no spaces).", code="e164"
        )
