"""Model fields for credentials at rest.

:class:`EncryptedTextField` stores Fernet ciphertext and gives the model attribute the plaintext.
``settings.FIELD_ENCRYPTION_KEYS`` is a list of Fernet keys: the first encrypts, every key
decrypts, so a key is rotated by putting the new one first and re-saving the rows
(``MultiFernet.rotate``) before the old one is dropped.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class DecryptionError(ImproperlyConfigured):
    """A stored value cannot be decrypted with any configured key (a key was removed too early)."""


@lru_cache(maxsize=4)
def _fernet_for(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS is empty: credentials cannot be stored")
    return MultiFernet([Fernet(key) for key in keys])


def fernet() -> MultiFernet:
    """The MultiFernet of the configured keys (cached per key list, so settings overrides apply)."""
    return _fernet_for(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """Fernet token (ASCII) of ``plaintext`` under the first key."""
    return fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str) -> str:
    """Plaintext of a token made with any configured key."""
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except InvalidToken:
        raise DecryptionError(
            "a stored credential cannot be decrypted with FIELD_ENCRYPTION_KEYS (was a key removed?)"
        ) from None


class EncryptedTextField(models.TextField):
    """Text encrypted at rest; the empty string stays empty so "not set" needs no decryption.

    Ciphertext is not deterministic, so the field cannot be filtered on, and its form field never
    renders the stored value back (a password input with ``render_value=False``).
    """

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def formfield(self, **kwargs: Any) -> forms.Field:
        # Forced, not defaulted: the admin passes its textarea widget for every TextField, which
        # would render the stored plaintext back into the page.
        kwargs["widget"] = forms.PasswordInput(render_value=False)
        kwargs.setdefault("strip", True)
        return super().formfield(**kwargs)


def mask_secret(value: str, *, visible: int = 4) -> str:
    """A hint that a secret is set, never the secret: ``••••abcd`` (nothing for short values)."""
    if not value:
        return ""
    tail = value[-visible:] if len(value) >= 4 * visible else ""
    return f"••••{tail}"
