"""Keys generated once into var/ so a local install needs no configuration."""

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    if path.exists():
        return path.read_text().strip()
    value = make()
    path.write_text(value)
    path.chmod(0o600)
    return value


def read_or_create_secret_key(path: Path) -> str:
    return read_or_create(path, lambda: secrets.token_urlsafe(50))


def read_or_create_fernet_key(path: Path) -> str:
    return read_or_create(path, lambda: Fernet.generate_key().decode())


def check_fernet_keys(keys: Sequence[str]) -> None:
    """ImproperlyConfigured naming the first key that is not a Fernet key (the key itself is not shown)."""
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except (ValueError, TypeError):
            raise ImproperlyConfigured(
                f"FIELD_ENCRYPTION_KEYS: key {position} of {len(keys)} is not a Fernet key (32 bytes, url-safe "
                "base64: 44 characters ending with '='). Generate one with: python -c 'from cryptography.fernet "
                "import Fernet; print(Fernet.generate_key().decode())'"
            ) from None
