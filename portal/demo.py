"""Demo credentials generated once into var/, so every run of the demo uses the same ones."""

import secrets
from pathlib import Path

from portal.local_secrets import read_or_create

DEMO_STORE = "demo_scim_store.json"  # the demo SCIM target's store, under var/


def demo_scim_token(var_dir: Path) -> str:
    return read_or_create(var_dir / "demo_scim_token", lambda: secrets.token_urlsafe(24))


def demo_admin_password(var_dir: Path) -> str:
    return read_or_create(var_dir / "demo_admin_password", lambda: secrets.token_urlsafe(12))
