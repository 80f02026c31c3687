"""Keys generated once into var/ so a local install needs no configuration."""

import secrets
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet


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
