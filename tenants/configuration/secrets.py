"""Secrets we generate for tenants: webhook signing secrets, Telegram link codes, API keys."""

from __future__ import annotations

import base64
import hashlib
import secrets

from tenants.tags import tenant_tag

API_KEY_PREFIX = "ae"


def signing_secret_generate() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def telegram_link_code_generate() -> str:
    """A one-time code the contact sends to the bot (``/start <code>``); Telegram allows [A-Za-z0-9_-]."""
    return secrets.token_urlsafe(12)


def api_key_generate(*, schema_name: str) -> str:
    """A new API key: ``ae_<tenant tag>_<43 random url-safe characters>``."""
    return f"{API_KEY_PREFIX}_{tenant_tag(schema_name)}_{secrets.token_urlsafe(32)}"


def api_key_hash(key: str) -> str:
    """SHA-256 of a key: keys carry 256 random bits, so a fast hash cannot be brute-forced."""
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_tag(key: str) -> str | None:
    """The tenant tag inside a key, or None if it does not look like one of ours."""
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != API_KEY_PREFIX or len(parts[1]) != 8:
        return None
    return parts[1]
