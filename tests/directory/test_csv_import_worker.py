"""A large CSV import in a real Celery worker: streamed, with progress, and cancellable with nothing written."""

import threading
import time

import pytest
from django.db import connection
from django.urls import reverse

from portal.directory import csv_import
from portal.directory.models import DirectoryChange, DirectoryImport, DirectoryUser, ImportStatus
from tests.fixtures.csv_upload import import_of, upload_csv
from tests.fixtures.worker import _wait_until_idle

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ROWS = 20_000


def big_csv(rows: int = ROWS) -> str:
    """About 2.4 MB: more than one stored part; every tenth user manages the next nine."""
    lines = ["userPrincipalName,displayName,department,jobTitle,city,manager"]
    for i in range(rows):
        manager = "" if i % 10 == 0 else f"big{i - i % 10}@contoso.example"
        lines.append(
            f"big{i}@contoso.example,Big User {i},Department {i % 40},Engineer,City {i % 500},{manager}"
        )
    return "\n".join(lines) + "\n"


def wait_for(imp: DirectoryImport, *statuses: str, timeout: float = 120) -> DirectoryImport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        imp.refresh_from_db()
        if imp.status in statuses:
            return imp
        time.sleep(0.1)
    raise AssertionError(f"import still {imp.status} ({imp.processed_rows}/{imp.total_rows})")


class Gate:
    """Holds the worker after its first progress report in ``phase`` until the test has acted."""

    def __init__(self, monkeypatch, attribute: str, phase: str | None = None) -> None:
        self.reached, self.proceed = threading.Event(), threading.Event()
        original = getattr(csv_import, attribute)

        def gated(imp, *args):
            report = original(imp, *args)

            def wrapped(done: int) -> None:
                report(done)
                if (phase is None or args == (phase,)) and not self.reached.is_set():
                    self.reached.set()
                    self.proceed.wait(60)

            return wrapped

        monkeypatch.setattr(csv_import, attribute, gated)


@pytest.fixture
def large_import(celery_worker, signed_in_client, settings, monkeypatch):
    settings.DIRECTORY_IMPORT_ASYNC_ROWS = 100
    monkeypatch.setattr(csv_import, "CHUNK", 500)
    response = upload_csv(signed_in_client, big_csv())
    imp = wait_for(import_of(response), ImportStatus.READY, ImportStatus.INVALID, ImportStatus.FAILED)
    assert imp.status == ImportStatus.READY, (imp.message, imp.errors[:3])
    return response["Location"], imp


def test_a_large_file_is_stored_in_parts_and_checked_in_the_worker(large_import):
    _, imp = large_import
    assert imp.content == "" and imp.parts.count() >= 2  # nobody holds the whole file
    assert imp.total_rows == imp.processed_rows == ROWS
    assert imp.summary["to_create"] == ROWS and imp.summary["error_count"] == 0


def test_cancel_while_checking_before_writing_stops_the_worker_and_writes_nothing(
    large_import, signed_in_client, monkeypatch
):
    page, imp = large_import
    gate = Gate(monkeypatch, "_progress_writer", ImportStatus.APPLYING)
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    assert gate.reached.wait(60)

    poll = signed_in_client.get(page, headers={"HX-Request": "true"}).content.decode()
    assert "Checked again before writing: 500 of 20,000 rows (2%)" in poll  # progress, as the page shows it
    assert 'data-testid="import-cancel"' in poll
    response = signed_in_client.post(reverse("directory:import_cancel", args=[imp.pk]))
    assert response.status_code == 302
    gate.proceed.set()
    _wait_until_idle()

    imp = wait_for(imp, ImportStatus.CANCELLED)
    assert imp.message == "Cancelled; nothing was written." and imp.processed_rows == 500
    assert not DirectoryUser.objects.exists() and not DirectoryChange.objects.exists()
    page_html = signed_in_client.get(page).content.decode()
    assert "Cancelled" in page_html and 'data-testid="import-cancel"' not in page_html


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="SQLite: the writing transaction holds the database's write lock, so Cancel waits for it",
)
def test_cancel_while_writing_rolls_back_what_was_written(large_import, signed_in_client, monkeypatch):
    _, imp = large_import
    gate = Gate(monkeypatch, "_cancel_check")
    signed_in_client.post(reverse("directory:import_confirm", args=[imp.pk]))
    assert gate.reached.wait(120)  # the worker has written its first chunk, inside the transaction

    response = signed_in_client.post(reverse("directory:import_cancel", args=[imp.pk]))
    assert response.status_code == 302
    gate.proceed.set()
    _wait_until_idle()

    imp = wait_for(imp, ImportStatus.CANCELLED)
    assert not DirectoryUser.objects.exists() and not DirectoryChange.objects.exists()


def test_a_finished_import_can_not_be_cancelled(large_import, signed_in_client):
    _, imp = large_import
    response = signed_in_client.post(reverse("directory:import_cancel", args=[imp.pk]), follow=True)
    assert "can&#x27;t be cancelled now" in response.content.decode()
    imp.refresh_from_db()
    assert imp.status == ImportStatus.READY
