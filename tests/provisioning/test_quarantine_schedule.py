"""Entra's quarantine schedule: retries at +6 h, +12 h, +24 h, then daily; disabled after 28 days."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from provisioning.models import JobState, ProvisioningJob
from provisioning.sync import quarantine
from provisioning.tasks import schedule_tick
from tests.fixtures.provisioning import make_app

START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("elapsed_hours", "next_hours"),
    [(0, 6), (5, 6), (6.5, 12), (11, 12), (13, 24), (25, 48), (49, 72), (24 * 27 + 1, 24 * 28)],
)
def test_retry_times_follow_the_quarantine_schedule(elapsed_hours, next_hours):
    now = START + timedelta(hours=elapsed_hours)
    assert quarantine.next_attempt(START, now) == START + timedelta(hours=next_hours)


@pytest.mark.django_db
def test_a_job_quarantined_for_more_than_28_days_is_disabled(scim_server):
    app = make_app(scim_server.base_url, scim_server.token)
    since = timezone.now() - timedelta(days=28, hours=1)
    ProvisioningJob.objects.filter(pk=app.job.pk).update(
        state=JobState.QUARANTINE,
        quarantine_reason="EncounteredQuarantineException",
        quarantine_since=since,
        next_run_at=timezone.now() - timedelta(minutes=1),
    )
    schedule_tick()
    job = ProvisioningJob.objects.get(pk=app.job.pk)
    assert job.enabled is False and job.state == JobState.PAUSED


@pytest.mark.django_db
def test_the_escrow_proportion_rule_uses_entras_thresholds(scim_server, settings):
    from provisioning.models import Cycle

    app = make_app(scim_server.base_url, scim_server.token)
    job = app.job
    cases = [(4000, 4000, False), (45000, 45000, True), (30000, 35000, True), (20000, 120000, False)]
    for failed, total, quarantined in cases:
        ProvisioningJob.objects.filter(pk=job.pk).update(state=JobState.ACTIVE, quarantine_reason="")
        job.refresh_from_db()
        quarantine.after_cycle(job, Cycle(job=job, kind="initial", failed=failed, total=total))
        job.refresh_from_db()
        assert (job.quarantine_reason == "EncounteredEscrowProportionThreshold") is quarantined, (
            failed,
            total,
        )
