"""`manage.py start` runs the product with DEBUG off, friendly error pages and its own base URL."""

import json
import os
import subprocess
import sys
from pathlib import Path

from portal.management.commands.start import child_environment

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
from portal.crypto import decrypt, encrypt
client = Client()
css = client.get("/static/portal/portal.css")
print(json.dumps({
    "debug": settings.DEBUG,
    "secret_key": settings.SECRET_KEY,
    "roundtrip": decrypt(encrypt("s3cret")),
    "css": css.status_code,
    "base_url": settings.PORTAL_BASE_URL,
}))
"""


def _run_with(env: dict[str, str]) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def _clean_environment(tmp_path: Path) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "VIRTUAL_ENV")}
    return {**keep, "DJANGO_SETTINGS_MODULE": "portal.settings", "PORTAL_VAR_DIR": str(tmp_path)}


def test_start_runs_the_portal_with_debug_off_on_the_keys_it_generated(tmp_path):
    env = child_environment(_clean_environment(tmp_path), port=9123, debug=False)
    probe = _run_with(env)
    assert probe["debug"] is False
    # Embedded mode: the keys generated once into var/ serve with DEBUG off too.
    assert probe["secret_key"] == (tmp_path / "secret_key").read_text().strip()
    assert (tmp_path / "fernet_key").exists() and probe["roundtrip"] == "s3cret"
    assert probe["css"] == 200  # whitenoise serves the static files without DEBUG
    # Links in notification emails point at the portal actually running (start --port 9123).
    assert probe["base_url"] == "http://127.0.0.1:9123"


def test_debug_is_opt_in_and_an_explicit_base_url_wins(tmp_path):
    base = {**_clean_environment(tmp_path), "PORTAL_BASE_URL": "https://portal.example.com"}
    env = child_environment(base, port=9123, debug=True)
    assert env["DEBUG"] == "true" and env["PORTAL_BASE_URL"] == "https://portal.example.com"


def test_a_bad_link_shows_the_portals_not_found_page(signed_in_client, settings):
    settings.DEBUG = False
    response = signed_in_client.get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and 'class="sidenav"' in body  # in the portal's shell
    assert "URLconf" not in body and "Using the URLconf" not in body


def test_a_server_error_shows_the_portals_error_page(settings):
    from django.template.loader import render_to_string

    body = render_to_string("500.html")
    assert "Something went wrong" in body and "portal.css" in body
