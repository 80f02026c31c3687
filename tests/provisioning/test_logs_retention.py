"""Log retention: the purge task deletes rows past PROVISIONING_LOG_RETENTION_DAYS, in batches."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning import tasks
from provisioning.logs import retention
from provisioning.models import ProvisioningLog
from tests.fixtures.logs import make_log, new_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged_logs():
    job = new_job()
    now = timezone.now()
    return {days: make_log(job, activity_at=now - timedelta(days=days)).pk for days in (0, 6, 8, 29, 31, 90)}


def remaining() -> set[int]:
    return set(ProvisioningLog.objects.values_list("pk", flat=True))


def test_default_retention_is_30_days(aged_logs):
    assert retention.retention_days() == 30  # settings' default (no PROVISIONING_LOG_RETENTION_DAYS)
    assert tasks.purge_logs() == 2
    assert remaining() == {aged_logs[d] for d in (0, 6, 8, 29)}


def test_retention_setting_is_honoured(aged_logs, settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 7
    assert tasks.purge_logs.apply().get() == 4  # as the worker would run it
    assert remaining() == {aged_logs[0], aged_logs[6]}


def test_purge_works_in_batches_and_is_idempotent(settings):
    job = new_job()
    old = timezone.now() - timedelta(days=45)
    ProvisioningLog.objects.bulk_create(
        [
            ProvisioningLog(
                job=job, activity_at=old, cycle_id=job.application.app_id, action="Create", status="success"
            )
            for _ in range(25)
        ]
    )
    keep = make_log(job).pk
    assert retention.purge_before(timezone.now() - timedelta(days=30), batch_size=10) == 25
    assert retention.purge_before(timezone.now() - timedelta(days=30), batch_size=10) == 0
    assert remaining() == {keep}


def test_pages_say_how_long_logs_are_kept(signed_in_client, settings):
    settings.PROVISIONING_LOG_RETENTION_DAYS = 12
    from django.urls import reverse

    assert "kept for 12 days" in signed_in_client.get(reverse("provisioning:log_list")).content.decode()
