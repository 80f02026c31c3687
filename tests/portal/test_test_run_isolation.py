"""A test run never shares var/ (SQLite file, filesystem broker, keys) with a portal started beside it."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.db import connection

from portal.celery import app as celery_app

PORTAL_VAR = Path(settings.BASE_DIR) / "var"  # what `manage.py start` uses


def inside(path: str | Path, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def test_this_run_uses_its_own_var_folder():
    assert not inside(settings.VAR_DIR, PORTAL_VAR)
    assert inside(settings.VAR_DIR, Path(os.environ["PORTAL_VAR_DIR"]))  # handed on to processes it starts


def test_the_database_and_broker_of_this_run_are_not_the_portals(db):
    if connection.vendor == "sqlite":
        assert inside(connection.settings_dict["NAME"], Path(settings.VAR_DIR))
        assert not inside(connection.settings_dict["NAME"], PORTAL_VAR)
    else:
        assert connection.settings_dict["NAME"].startswith("test_")  # pytest-django's own database
    options = celery_app.conf.broker_transport_options or {}
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        if key in options:  # the filesystem broker the test worker reads
            assert inside(options[key], Path(settings.VAR_DIR)) and not inside(options[key], PORTAL_VAR)


def test_a_run_told_to_use_the_portals_var_folder_still_gets_its_own(tmp_path):
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL")},
        "PYTEST_VERSION": "8",
        "PORTAL_VAR_DIR": str(PORTAL_VAR),
        "DJANGO_SETTINGS_MODULE": "portal.settings",
    }
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.VAR_DIR); print(settings.CELERY_BROKER_TRANSPORT_OPTIONS['data_folder_in']); "
        "print(settings.DATABASES['default']['TEST']['NAME'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        cwd=settings.BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    var_dir, broker, test_database = result.stdout.split()
    for path in (var_dir, broker, test_database):
        assert not inside(path, PORTAL_VAR), path
