"""Home is a tenant overview; every page shows dates in the one project format (issue 19)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.audit import Activity, record_audit
from provisioning.models import Cycle, CycleKind, CycleStatus, JobState, ProvisioningJob
from tests.fixtures.logs import make_log, new_job

pytestmark = pytest.mark.django_db

WHEN = datetime(2019, 1, 7, 11, 13, 4, 123456, tzinfo=UTC)
# Django's stock English formats, which the portal mixed with ISO dates
STOCK = re.compile(r"\b(Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\. \d|[ap]\.m\.|2019-01-07 11:13")


def test_home_shows_apps_status_attention_and_recent_cycles(signed_in_client):
    healthy = new_job("Healthy HR")
    broken = new_job("Broken CRM")
    ProvisioningJob.objects.filter(pk=broken.pk).update(
        state=JobState.QUARANTINE, quarantine_reason="BadCredentials", quarantine_since=timezone.now()
    )
    Cycle.objects.create(
        job=healthy,
        kind=CycleKind.INCREMENTAL,
        status=CycleStatus.COMPLETED,
        total=3,
        processed=3,
        failed=1,
        started_at=timezone.now() - timedelta(minutes=5),
        finished_at=timezone.now(),
    )
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
    entry = record_audit(
        admin_user,
        Activity.UPDATE_PROVISIONING,
        target_type="Application",
        target_id=job.application.app_id,
        target_name=job.application.display_name,
        application=job.application,
    )
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
