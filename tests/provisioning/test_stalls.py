"""A cycle with no progress shows as stalled (overview, API job status, one email, /healthz), and
/healthz names pending pages that no broker message will ever run (lost work)."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from kombu import Connection

from portal import health
from portal.celery import app as celery_app
from provisioning.models import Cycle, CycleKind, CyclePage, JobState, ProvisioningJob
from provisioning.tasks import schedule_tick
from tests.fixtures.provisioning import make_app

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def thresholds(settings):
    settings.PROVISIONING_STALL_AFTER = 600
    settings.PROVISIONING_LOST_WORK_AFTER = 60


@pytest.fixture
def job() -> ProvisioningJob:
    app = make_app("http://127.0.0.1:9/scim/v2", "token")
    ProvisioningJob.objects.filter(pk=app.job.pk).update(
        state=JobState.ACTIVE,
        notification_email="ops@contoso.test",
        next_run_at=timezone.now() + timedelta(hours=1),  # the schedule tick starts nothing
    )
    return ProvisioningJob.objects.get(pk=app.job.pk)


def running_cycle(job, idle: timedelta) -> Cycle:
    """A running cycle 3,000 of 5,005 objects in, whose last page was saved ``idle`` ago."""
    last = (timezone.now() - idle).replace(microsecond=0)
    cycle = Cycle.objects.create(
        job=job,
        kind=CycleKind.INITIAL,
        started_at=last - timedelta(minutes=5),
        progress_at=last,
        total=5005,
        processed=3000,
        pages_total=11,
        pages_done=6,
    )
    CyclePage.objects.bulk_create(
        [CyclePage(cycle=cycle, index=i, phase="users", items=[], status="done") for i in range(6)]
        + [CyclePage(cycle=cycle, index=i, phase="users", items=[]) for i in range(6, 11)]
    )
    return cycle


def job_status(api, job) -> dict:
    sp = job.application.service_principal_id
    response = api.get(f"/servicePrincipals/{sp}/synchronization/jobs/{job.job_id}")
    assert response.status_code == 200
    return response.json()["status"]


def test_the_overview_shows_a_cycle_without_progress_as_stalled(signed_in_client, job):
    cycle = running_cycle(job, idle=timedelta(minutes=30))
    url = reverse("provisioning:app_overview", args=[job.application_id])

    html = signed_in_client.get(url).content.decode()

    assert 'data-testid="cycle-state">Stalled<' in html
    assert 'data-testid="job-stalled">Stalled<' in html  # not just "Active"
    assert f"no progress since {date_format(cycle.progress_at, 'DATETIME_FORMAT')} UTC" in html
    assert "6 of 11 pages done" in html

    Cycle.objects.filter(pk=cycle.pk).update(progress_at=timezone.now())  # a page was just saved
    html = signed_in_client.get(url).content.decode()
    assert 'data-testid="cycle-state">In progress<' in html and "Stalled" not in html


def test_the_api_job_status_says_stalled_and_when_progress_was_last_observed(api, job):
    cycle = running_cycle(job, idle=timedelta(minutes=30))

    status = job_status(api, job)

    assert status["code"] == "Quarantine"
    assert status["quarantine"]["reason"] == "Unknown"
    assert status["quarantine"]["error"]["code"] == "CycleStalled"
    assert "3000 of 5005 objects" in status["quarantine"]["error"]["message"]
    (progress,) = status["progress"]
    assert parse_datetime(progress["progressObservationDateTime"]) == cycle.progress_at
    assert (progress["completedUnits"], progress["totalUnits"]) == (3000, 5005)

    Cycle.objects.filter(pk=cycle.pk).update(progress_at=timezone.now() - timedelta(minutes=2))
    status = job_status(api, job)
    assert status["code"] == "Active" and status["quarantine"] is None


def test_a_stalled_cycle_is_logged_and_emailed_once(job, caplog, django_capture_on_commit_callbacks):
    running_cycle(job, idle=timedelta(minutes=30))

    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        schedule_tick()
        schedule_tick()

    assert len(mail.outbox) == 1
    assert "stalled" in mail.outbox[0].subject and "3000 of 5005 objects" in mail.outbox[0].body
    assert len([r for r in caplog.records if "is stalled" in r.getMessage()]) == 1


@pytest.fixture
def task_queue(monkeypatch, settings):
    """The task queue /healthz inspects, used only by these tests: a session worker may consume the real one."""
    name = f"healthz-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setattr(health, "queue_names", lambda: {name})
    # Redis's delivered-but-unacked set is shared by every worker test before this one: use our own.
    options = {**(celery_app.conf.broker_transport_options or {}), "unacked_key": f"unacked-{name}"}
    monkeypatch.setitem(celery_app.conf, "broker_transport_options", options)
    with Connection(
        settings.CELERY_BROKER_URL, transport_options=celery_app.conf.broker_transport_options
    ) as conn:
        queue = conn.SimpleQueue(name)
        yield queue
        queue.clear()
        queue.close()


def page_message(queue, cycle) -> None:
    """What _queue_pages publishes for a page, in the queue /healthz inspects."""
    page = CyclePage.objects.filter(cycle=cycle, status="pending").first()
    queue.put({"task": "provisioning.tasks.process_page", "args": [page.pk]})


def test_healthz_reports_a_stalled_cycle(client, job, task_queue):
    cycle = running_cycle(job, idle=timedelta(minutes=30))
    page_message(task_queue, cycle)  # its pages are not lost: only stalled

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert f"Stalled cycle {cycle.cycle_id}" in body["checks"]["cycles"]
    assert body["checks"]["pages"] == "ok"


def test_healthz_reports_pending_pages_with_no_message_in_the_broker(client, job, settings, task_queue):
    settings.PROVISIONING_STALL_AFTER = 3600  # not stalled yet: the lost work shows first
    cycle = running_cycle(job, idle=timedelta(minutes=5))  # the broker restarted empty: no message

    response = client.get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["cycles"] == "ok"
    assert f"5 pending page(s) of cycle {cycle.cycle_id}" in body["checks"]["pages"]

    page_message(task_queue, cycle)
    assert client.get("/healthz").status_code == 200  # a queued message may still run them


def test_healthz_does_not_call_fresh_pending_pages_lost(client, job, task_queue):
    running_cycle(job, idle=timedelta(seconds=5))  # just queued, or being worked on
    assert client.get("/healthz").status_code == 200
