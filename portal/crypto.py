"""Secrets at rest: a text field encrypted with Fernet (cryptography), keys from the environment.

``FIELD_ENCRYPTION_KEYS`` lists keys newest first: values are written with the first and read with any,
so a key is rotated by putting a new one in front and running ``manage.py rotate_secrets``.
"""

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


def rotate(value: str) -> str:
    return _PREFIX + fernet().rotate(value.removeprefix(_PREFIX).encode()).decode()


class EncryptedTextField(models.TextField):
    """Stores ciphertext; Python code only ever sees the plaintext (empty string = no secret)."""

    def from_db_value(self, value, expression, connection):
        if not value:
            return ""
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if not value:
            return ""
        return encrypt(value)
