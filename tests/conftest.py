"""Shared fixtures: a real Celery worker, Debian's Chromium for Playwright, signed-in users."""

import os
import shutil
from pathlib import Path

import pytest

from portal.i18n.catalogues import compile_catalogues

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop

pytest_plugins = [
    "tests.fixtures.worker",
    "tests.fixtures.scim_server",
    "tests.fixtures.listener",
    "tests.fixtures.provisioning",
    "tests.fixtures.clock",
    "tests.fixtures.stub_server",
    "tests.fixtures.migrator",
    "tests.fixtures.hashing",
    "tests.fixtures.browser",
    "tests.fixtures.api_tokens",
]

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


def pytest_configure(config):
    """The translation catalogues are committed as .po only: compile them as the setup does."""
    compile_catalogues(Path(__file__).resolve().parent.parent / "locale")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def admin_password() -> str:
    return "correct-horse-battery-staple"


@pytest.fixture
def admin_user(django_user_model, admin_password):
    return django_user_model.objects.create_superuser("admin", "admin@example.com", admin_password)


@pytest.fixture
def signed_in_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture(autouse=True)
def _test_connection_limit(settings):
    """Test Connection is rate-limited per user; user ids repeat across tests and a shared cache (Redis)
    keeps counts, so the suite runs with a limit no test reaches unless it sets its own."""
    settings.PROVISIONING_TEST_CONNECTION_LIMIT = 10_000
