"""Secrets at rest: a text field encrypted with Fernet (cryptography), keys from the environment.

``FIELD_ENCRYPTION_KEYS`` lists keys newest first: values are written with the first and read with any,
so a key is rotated by putting a new one in front and running ``manage.py rotate_secrets``.
"""

from __future__ import annotations

from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models

_PREFIX = "fernet:"


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return _PREFIX + fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(_PREFIX):
        raise ValueError("value is not an encrypted secret")
    try:
        return fernet().decrypt(value.removeprefix(_PREFIX).encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS") from exc


class UnreadableSecret(str):
    """A stored secret that no configured key decrypts (a key was dropped too early, or is missing).

    It reads as an empty string (no usable secret: nothing is ever sent with it) and keeps its ciphertext,
    so saving the row leaves the stored value as it was: putting the right key back makes it readable.
    """

    ciphertext: str

    def __new__(cls, ciphertext: str) -> UnreadableSecret:
        obj = super().__new__(cls, "")
        obj.ciphertext = ciphertext
        return obj

    def __repr__(self) -> str:
        return "UnreadableSecret()"


def unreadable_fields(instance: models.Model) -> list[str]:
    """Names of ``instance``'s encrypted fields whose stored value no configured key decrypts."""
    return [
        f.name
        for f in instance._meta.concrete_fields
        if isinstance(f, EncryptedTextField) and isinstance(getattr(instance, f.attname), UnreadableSecret)
    ]


def rotate(value: str) -> str:
    """``value`` (ciphertext) encrypted again with the newest key; ValueError when no key decrypts it."""
    if not value.startswith(_PREFIX):
        raise ValueError("value is not an encrypted secret")
    try:
        return _PREFIX + fernet().rotate(value.removeprefix(_PREFIX).encode()).decode()
    except InvalidToken as exc:
        raise ValueError("secret cannot be decrypted with the configured FIELD_ENCRYPTION_KEYS") from exc


class EncryptedTextField(models.TextField):
    """Stores ciphertext; Python code only ever sees the plaintext (empty string = no secret).

    A value no configured key decrypts loads as :class:`UnreadableSecret` instead of failing the page.
    """

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        try:
            return decrypt(value)
        except ValueError:
            return UnreadableSecret(value)

    def get_prep_value(self, value):
        if isinstance(value, UnreadableSecret):
            return value.ciphertext  # unchanged: never overwrite what a restored key could still read
        value = super().get_prep_value(value)
        if not value:
            return ""
        return encrypt(value)
