"""Database sessions whose keys carry the tag of the schema they were created in.

Sessions live in each schema's own table, so a session of tenant A is never valid on tenant B;
the tag lets :mod:`tenants.middleware` tell "a session of another tenant" (403) from "no session".
"""

from __future__ import annotations

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import connection
from django.utils.crypto import get_random_string

from tenants.tags import TAG_LENGTH, tenant_tag

_KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"
# Session keys are at most 40 characters (the column's length): tag + 32 random characters.
_RANDOM_LENGTH = 40 - TAG_LENGTH


class SessionStore(DatabaseSessionStore):
    def _get_new_session_key(self) -> str:
        tag = tenant_tag(connection.schema_name)
        while True:
            key = tag + get_random_string(_RANDOM_LENGTH, _KEY_CHARS)
            if not self.exists(key):
                return key


def session_tag(session_key: str) -> str:
    """The schema tag at the start of a session key."""
    return session_key[:TAG_LENGTH]
