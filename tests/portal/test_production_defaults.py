"""Production defaults that are safe (issue 15, point 6): compose, check --deploy, start-up key checks."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def production_variables() -> dict[str, str]:
    """The variables README documents for production, placeholders filled with fresh values."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Production variables", 1)[1]
    block = section.split("```", 2)[1].splitlines()[1:]
    values = {}
    for line in block:
        if not line.strip() or line.startswith("#"):
            continue
        name, value = line.split("=", 1)
        values[name] = value.split("  #")[0].strip()
    fill = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
    }
    return {
        k: fill.get(k) or re.sub(r"<[^>]*>", lambda _: secrets.token_hex(8), v) if "<" in v else v
        for k, v in values.items()
    }


def manage(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"):  # this machine's, not production's
        clean.pop(name, None)
    clean.update(env, PORTAL_VAR_DIR=str(tmp_path))  # a check connects to nothing
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=120
    )


def test_check_deploy_is_clean_with_the_documented_production_variables(tmp_path):
    env = production_variables()
    assert env["DEBUG"] == "false" and "TRUSTED_PROXY" in env

    result = manage(["check", "--deploy", "--fail-level", "WARNING"], env, tmp_path)

    assert result.returncode == 0, result.stderr + result.stdout
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_a_malformed_fernet_key_stops_start_up_with_a_clear_message(tmp_path):
    env = {**production_variables(), "FIELD_ENCRYPTION_KEYS": f"{Fernet.generate_key().decode()},not-a-key"}

    result = manage(["check"], env, tmp_path)

    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS: key 2 of 2 is not a Fernet key" in result.stderr
    assert "not-a-key" not in result.stderr  # the key itself is never printed


def test_a_malformed_outbound_range_stops_start_up(tmp_path):
    env = {**production_variables(), "PROVISIONING_OUTBOUND_ALLOW": "10.0.0.0/8,10.0.0.0/33"}

    result = manage(["check"], env, tmp_path)

    assert result.returncode != 0
    assert "PROVISIONING_OUTBOUND_ALLOW: '10.0.0.0/33' is not an IP address or CIDR range" in result.stderr


def test_the_proxy_header_is_trusted_only_when_a_proxy_is_declared(tmp_path):
    code = "from django.conf import settings; print(getattr(settings, 'SECURE_PROXY_SSL_HEADER', None))"
    env = production_variables()

    without = manage(["shell", "-c", code], {**env, "TRUSTED_PROXY": "false"}, tmp_path)
    with_proxy = manage(["shell", "-c", code], {**env, "TRUSTED_PROXY": "true"}, tmp_path)

    assert without.stdout.strip().splitlines()[-1] == "None", without.stderr
    assert with_proxy.stdout.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')"


def test_compose_has_secure_cookies_no_default_password_and_no_published_demo_target():
    compose = _compose()
    text = (ROOT / "docker-compose.yml").read_text()
    services = compose["services"]
    web = services["web"]["environment"]

    assert (web["SESSION_COOKIE_SECURE"], web["CSRF_COOKIE_SECURE"]) == ("true", "true")
    assert "ports" not in services["scim-demo"]
    assert re.search(
        r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", services["postgres"]["environment"]["POSTGRES_PASSWORD"]
    )
    assert "${POSTGRES_PASSWORD:?" in web["DATABASE_URL"]
    assert "POSTGRES_PASSWORD:-" not in text  # no fallback password anywhere
    assert web["TRUSTED_PROXY"] == "${TRUSTED_PROXY:-false}"
