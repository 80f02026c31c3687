"""Home is a tenant overview; every page shows dates in the one project format (issue 19)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from provisioning.models import Cycle, CycleKind, CycleStatus
from tests.fixtures.logs import audit_settings_saved, finished_cycle, make_log, new_job, quarantine

pytestmark = pytest.mark.django_db

WHEN = datetime(2019, 1, 7, 11, 13, 4, 123456, tzinfo=UTC)
# Django's stock English formats, which the portal mixed with ISO dates
STOCK = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\. \d|[ap]\.m\.|2019-01-07 11:13")


def test_home_shows_apps_status_attention_and_recent_cycles(signed_in_client):
    healthy = new_job("Healthy HR")
    broken = new_job("Broken CRM")
    quarantine(broken, "BadCredentials")
    finished_cycle(healthy, status=CycleStatus.COMPLETED, total=3, processed=3, failed=1)
    make_log(healthy, status="failure", source_name="Failing Fred")
    page = signed_in_client.get(reverse("home")).content.decode()
    assert 'data-testid="home-apps"' in page and "Healthy HR" in page and "Broken CRM" in page
    assert "is in quarantine" in page and "BadCredentials" in page
    assert "1 object failed in the last 24 hours" in page
    assert 'data-testid="home-cycles"' in page and "Incremental cycle" in page and "1 failed" in page
    assert reverse("provisioning:app_overview", args=[broken.application_id]) in page


def test_dates_use_one_format_everywhere(signed_in_client, admin_user):
    job = new_job("Contoso SCIM")
    log = make_log(job, activity_at=WHEN, status="failure", source_name="Adele Vance")
    entry = audit_settings_saved(admin_user, job)
    type(entry).objects.filter(pk=entry.pk).update(at=WHEN)
    Cycle.objects.create(
        job=job, kind=CycleKind.INITIAL, status=CycleStatus.COMPLETED, started_at=WHEN, finished_at=WHEN
    )
    pages = [
        reverse("provisioning:log_list") + "?date=all",
        reverse("provisioning:log_detail", args=[log.pk]),
        reverse("provisioning:log_detail", args=[log.pk]) + "?tab=details",
        reverse("audit_log") + "?date=all",
        reverse("provisioning:app_overview", args=[job.application_id]),
        reverse("home"),
    ]
    for url in pages:
        body = signed_in_client.get(url).content.decode()
        assert "Jan 7, 2019, 11:13:04" in body, url
        assert not STOCK.search(body), (url, STOCK.search(body))
        assert "11:13:04.123456" not in body and "11:13:04.123" not in body, url
