"""SCIM servers nobody here wrote, started for the interoperability suite (marker ``interop``).

Each target is an :class:`InteropTarget`: its base URL and token, the compatibility switches and the
mapping rows it needs (what docs/interoperability.md lists), and ``state()`` — every user and group
read back through its own SCIM API.

* ``scim2-server`` (PyPI): the in-process server of tests/fixtures/scim_server.py.
* ``scimmy`` (npm ``scimmy`` + ``scimmy-routers``): tests/interop/scimmy/server.js under Node; its
  packages are installed by ``npm ci`` from the committed package-lock.json the first time.
* ``django-scim2`` (PyPI ``django-scim2``): a small Django project (tests/interop/djscim) run with
  ``runserver`` in a subprocess on its own SQLite file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest

HERE = Path(__file__).parent
SCIMMY_DIR = HERE / "scimmy"


@dataclass
class InteropTarget:
    name: str
    base_url: str
    token: str
    compatibility: dict[str, str] = field(default_factory=dict)
    drop_mappings: tuple[str, ...] = ()
    """Target attributes removed from the user mapping because the server can't store them."""

    def _list(self, endpoint: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        start = 1
        with httpx2.Client(headers={"Authorization": f"Bearer {self.token}"}, timeout=30) as http:
            while True:
                answer = http.get(f"{self.base_url}/{endpoint}", params={"startIndex": start, "count": 100})
                answer.raise_for_status()
                page = answer.json()
                resources = page.get("Resources") or []
                found.extend(resources)
                start += len(resources)
                if not resources or start > int(page.get("totalResults") or 0):
                    return found

    def state(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(users, groups) as the target serves them."""
        return self._list("Users"), self._list("Groups")


def _start(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> tuple[subprocess.Popen, int]:
    """Start a server that prints ``READY <port>`` on its first line; fail with its output otherwise."""
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("READY "):
            # keep reading its output, so a chatty server never blocks on a full pipe
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, int(line.split()[1])
        if len(lines) > 200:
            break
    process.kill()
    raise RuntimeError(f"{command[0]} did not start:\n{''.join(lines)[-3000:]}")


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout:
        process.stdout.close()


@pytest.fixture(scope="session")
def scimmy_installed() -> Path:
    """``npm ci`` once (reproducible: the lock file is committed); skip with the reason without npm."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        pytest.skip("the scimmy target needs Node.js and npm (apt-get install nodejs npm)")
    if not (SCIMMY_DIR / "node_modules" / "scimmy-routers").is_dir():
        result = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=SCIMMY_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            pytest.skip(f"npm ci failed for tests/interop/scimmy: {result.stderr[-500:]}")
    return SCIMMY_DIR


@pytest.fixture
def scimmy_target(scimmy_installed: Path) -> Iterator[InteropTarget]:
    token = secrets.token_urlsafe(16)
    process, port = _start([shutil.which("node") or "node", "server.js", token], scimmy_installed)
    try:
        yield InteropTarget(
            "scimmy",
            f"http://127.0.0.1:{port}/scim/v2",
            token,
        )
    finally:
        _stop(process)


@pytest.fixture
def django_scim2_target(tmp_path: Path) -> Iterator[InteropTarget]:
    token = secrets.token_urlsafe(16)
    env = {
        **os.environ,
        "DJSCIM_DB": str(tmp_path / "djscim.sqlite3"),
        "DJSCIM_TOKEN": token,
        "DJANGO_SETTINGS_MODULE": "djscim.settings",
        "PYTHONPATH": str(HERE),
    }
    process, port = _start([sys.executable, "-m", "djscim.serve"], HERE, env)
    try:
        yield InteropTarget(
            "django-scim2",
            f"http://127.0.0.1:{port}/scim/v2",
            token,
            # Its group adapter removes members only from a value list (a path filter is 501).
            compatibility={"memberRemoval": "valueList"},
            drop_mappings=DJANGO_SCIM2_UNSUPPORTED,
        )
    finally:
        _stop(process)


# django-scim2's default adapters store userName, name, emails and active only (PATCH of anything else is
# 501, and emails only as a whole list), so an admin removes the other rows from the mapping, as they
# would in Entra.
DJANGO_SCIM2_UNSUPPORTED = (
    "displayName",
    'emails[type eq "work"].value',  # stored on POST, but a PATCH of the filtered path is 501
    "title",
    "name.formatted",
    'phoneNumbers[type eq "work"].value',
    'phoneNumbers[type eq "mobile"].value',
    'phoneNumbers[type eq "fax"].value',
    'addresses[type eq "work"].streetAddress',
    'addresses[type eq "work"].postalCode',
    'addresses[type eq "other"].formatted',
    "externalId",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
)


@pytest.fixture
def scim2_server_target(scim_server: Any) -> InteropTarget:
    return InteropTarget("scim2-server", scim_server.base_url, scim_server.token)


@pytest.fixture(params=["scim2-server", "scimmy", "django-scim2"])
def interop_target(request: pytest.FixtureRequest) -> InteropTarget:
    fixture = {
        "scim2-server": "scim2_server_target",
        "scimmy": "scimmy_target",
        "django-scim2": "django_scim2_target",
    }[request.param]
    return request.getfixturevalue(fixture)
