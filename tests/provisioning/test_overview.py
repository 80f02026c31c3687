"""Provisioning overview: status states, 286 stop-polling, Start/Stop/Restart, quarantine banner."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.formats import date_format

from portal.audit import Activity
from portal.models import AuditEntry
from provisioning.models import Cycle, CycleKind, CycleStatus, EscrowEntry, JobState, ProvisioningJob
from provisioning.sync import control, quarantine
from provisioning.sync.credentials import Credentials
from provisioning.views.overview import WAIT_LIMIT_SECONDS, cycle_progress
from tests.fixtures.logs import new_job

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "cycle-status"}


@pytest.fixture
def job() -> ProvisioningJob:
    job = new_job("Contoso SCIM")
    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=False, state=JobState.NOT_RUN)
    job.refresh_from_db()
    return job


def cycle(job, **fields) -> Cycle:
    values = {
        "kind": CycleKind.INITIAL,
        "status": CycleStatus.COMPLETED,
        "total": 100,
        "processed": 100,
        "started_at": timezone.now() - timedelta(minutes=10),
    }
    values.update(fields)
    if values["status"] not in (CycleStatus.RUNNING, CycleStatus.PAUSED):
        values.setdefault("finished_at", values["started_at"] + timedelta(minutes=3))
    return Cycle.objects.create(job=job, **values)


def overview(client, job, **params):
    return client.get(reverse("provisioning:app_overview", args=[job.application_id]), params)


def progress(client, job, **params):
    return client.get(reverse("provisioning:app_progress", args=[job.application_id]), params, **HTMX)


def html(response) -> str:
    return response.content.decode()


# --- progress arithmetic --------------------------------------------------------------------------------


def test_progress_percent_and_estimated_completion():
    now = timezone.now()
    running = Cycle(
        status=CycleStatus.RUNNING, total=400, processed=100, started_at=now - timedelta(minutes=2)
    )
    p = cycle_progress(running, now)
    assert p.percent == 25 and p.running
    assert p.rate_per_minute == pytest.approx(50)
    assert p.eta == now + timedelta(minutes=6)  # 300 left at 50 a minute


def test_running_cycle_never_shows_100_percent():
    now = timezone.now()
    finishing = Cycle(
        status=CycleStatus.RUNNING, total=10, processed=10, started_at=now - timedelta(seconds=5)
    )
    p = cycle_progress(finishing, now)
    assert p.percent == 99 and p.finishing and p.eta is None
    done = Cycle(status=CycleStatus.COMPLETED, total=0, processed=0, started_at=now, finished_at=now)
    assert cycle_progress(done, now).percent == 100
    empty = Cycle(status=CycleStatus.RUNNING, total=0, processed=0, started_at=now)
    assert cycle_progress(empty, now).percent == 0 and cycle_progress(empty, now).eta is None


def test_resumed_cycle_measures_elapsed_time_to_now():
    now = timezone.now()
    resumed = Cycle(
        status=CycleStatus.RUNNING,
        total=10,
        processed=5,
        started_at=now - timedelta(minutes=10),
        finished_at=now - timedelta(minutes=9),  # left over from its quarantine
    )
    assert cycle_progress(resumed, now).elapsed_s == pytest.approx(600)


# --- the page -------------------------------------------------------------------------------------------


def test_never_run(signed_in_client, job):
    page = html(overview(signed_in_client, job))
    assert "Provisioning has not run yet." in page
    assert "No cycle has finished yet." in page
    assert 'hx-trigger="every' not in page  # nothing to watch
    assert 'data-testid="cycle-history"' in page and "No cycles yet" in page


def test_running_cycle_polls_every_two_seconds(signed_in_client, job):
    cycle(job, status=CycleStatus.RUNNING, processed=30, started_at=timezone.now() - timedelta(seconds=30))
    page = html(overview(signed_in_client, job))
    url = reverse("provisioning:app_progress", args=[job.application_id])
    assert f'hx-get="{url}" hx-trigger="every 2s"' in page
    assert 'aria-valuenow="30"' in page and "30 of 100 objects processed" in page
    assert "Initial cycle" in page and "In progress" in page
    assert 'data-testid="eta">' in page and "UTC (in" in page


def test_completed_cycle_summary_links_into_the_logs(signed_in_client, job):
    done = cycle(
        job, kind=CycleKind.INCREMENTAL, created=5, updated=7, disabled=1, deleted=2, skipped=80, failed=5
    )
    page = html(overview(signed_in_client, job))
    assert "Incremental cycle" in page and 'aria-valuenow="100"' in page
    logs = reverse("provisioning:app_logs", args=[job.application_id])
    assert f'href="{logs}?cycle={done.cycle_id}&amp;status=failure" data-testid="count-failed"' in page
    assert (
        f'href="{logs}?cycle={done.cycle_id}&amp;action=Create&amp;status=success&amp;status=warning"' in page
    )
    assert re.search(r'data-testid="count-skipped"[^>]*>80</a>', page)
    assert "duration 3 min 0 s" in page


def test_statistics_to_date_come_from_the_escrow(signed_in_client, job):
    import uuid

    for state, count in (("active", 3), ("disabled", 2), ("deleted", 1)):
        for _ in range(count):
            EscrowEntry.objects.create(
                job=job, object_kind="User", source_id=uuid.uuid4(), target_id=uuid.uuid4().hex, state=state
            )
    EscrowEntry.objects.create(job=job, object_kind="Group", source_id=uuid.uuid4(), target_id="g1")
    page = html(overview(signed_in_client, job))
    assert 'data-testid="users-provisioned">5' in page and "3 active, 2 disabled, 1 deleted" in page
    assert 'data-testid="groups-provisioned">1' in page


def test_next_run_steady_state_and_job_state(signed_in_client, job):
    later = timezone.now() + timedelta(minutes=40)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=True, state=JobState.ACTIVE, next_run_at=later, steady_state_at=timezone.now()
    )
    page = html(overview(signed_in_client, job))
    assert f'data-testid="next-run">{date_format(later, "DATETIME_FORMAT")} UTC' in page
    assert "Last reached" in page and 'data-testid="job-state">Active' in page
    assert 'data-testid="stop-provisioning"' in page and 'data-testid="start-provisioning"' not in page


def test_toolbar_links(signed_in_client, job):
    page = html(overview(signed_in_client, job))
    edit = reverse("provisioning:configuration", args=[job.application.service_principal_id])
    assert f'href="{edit}" data-testid="edit-provisioning"' in page
    assert "Provision on demand" in page
    try:
        on_demand = reverse("provisioning:on_demand", args=[job.application.service_principal_id])
    except NoReverseMatch:  # that page is another module's; without it the button is disabled
        assert "Provision on demand is not available yet" in page
    else:
        assert f'href="{on_demand}"' in page
    assert 'data-testid="restart-provisioning"' in page


def test_start_is_disabled_until_configured(signed_in_client, job):
    ProvisioningJob.objects.filter(pk=job.pk).update(tenant_url="")
    page = html(overview(signed_in_client, job))
    assert 'data-testid="start-provisioning" disabled' in page
    assert "Provisioning is not configured" in page
    response = signed_in_client.post(reverse("provisioning:app_start", args=[job.application_id]))
    job.refresh_from_db()
    assert response.status_code == 302 and not job.enabled


def test_history_chart_shows_the_last_30_cycles(signed_in_client, job):
    start = timezone.now() - timedelta(days=2)
    for i in range(35):
        cycle(job, started_at=start + timedelta(minutes=40 * i), created=i, updated=1, failed=i % 2)
    response = overview(signed_in_client, job)
    assert len(response.context["history"]) == 30
    assert html(response).count('class="cycle-bar"') == 30
    partial = signed_in_client.get(
        reverse("provisioning:app_overview", args=[job.application_id]),
        {"part": "history"},
        HTTP_HX_REQUEST="true",
    )
    assert html(partial).lstrip().startswith("<svg") and "<html" not in html(partial)


def test_unknown_app_is_404(signed_in_client):
    assert signed_in_client.get(reverse("provisioning:app_overview", args=[424242])).status_code == 404


# --- polling --------------------------------------------------------------------------------------------


def test_progress_fragment_keeps_polling_while_running(signed_in_client, job):
    cycle(job, status=CycleStatus.RUNNING, processed=40)
    response = progress(signed_in_client, job)
    assert response.status_code == 200
    assert 'aria-valuenow="40"' in html(response) and "<html" not in html(response)


def test_progress_fragment_stops_polling_with_286_when_the_cycle_ends(signed_in_client, job):
    running = cycle(job, status=CycleStatus.RUNNING, processed=40)
    assert progress(signed_in_client, job).status_code == 200
    Cycle.objects.filter(pk=running.pk).update(
        status=CycleStatus.COMPLETED, processed=100, created=100, finished_at=timezone.now()
    )
    response = progress(signed_in_client, job)
    assert response.status_code == 286
    assert response["HX-Trigger"] == '{"provisioning-cycle-finished": {}}'
    body = html(response)
    assert 'aria-valuenow="100"' in body and re.search(r'data-testid="count-created"[^>]*>100</a>', body)


@pytest.mark.parametrize("status", [CycleStatus.PAUSED, CycleStatus.FAILED, CycleStatus.QUARANTINED])
def test_paused_or_stopped_cycles_stop_polling(signed_in_client, job, status):
    cycle(job, status=status, processed=40)
    assert progress(signed_in_client, job).status_code == 286


def test_after_start_it_polls_until_the_new_cycle_has_run(signed_in_client, job):
    old = cycle(job)
    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=True)
    wait = f"{old.pk}.{int(time.time())}"
    waiting = progress(signed_in_client, job, wait=wait)
    assert waiting.status_code == 200  # the worker has not opened the cycle yet
    new = cycle(job, status=CycleStatus.RUNNING, processed=0)
    assert progress(signed_in_client, job, wait=wait).status_code == 200
    Cycle.objects.filter(pk=new.pk).update(status=CycleStatus.COMPLETED, finished_at=timezone.now())
    assert progress(signed_in_client, job, wait=wait).status_code == 286


def test_waiting_gives_up_after_the_limit_or_when_off(signed_in_client, job):
    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=True)
    stale = f"0.{int(time.time()) - WAIT_LIMIT_SECONDS - 1}"
    assert progress(signed_in_client, job, wait=stale).status_code == 286
    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=False)
    assert progress(signed_in_client, job, wait=f"0.{int(time.time())}").status_code == 286
    assert progress(signed_in_client, job, wait="garbage").status_code == 286


def test_a_resumed_cycle_ends_the_wait_when_it_finishes(signed_in_client, job):
    """Start on a paused cycle or Allow deletes resume an old cycle: no new pk to wait for."""
    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=True)
    resumed = cycle(job, status=CycleStatus.RUNNING, processed=50)
    wait = f"{resumed.pk}.{int(time.time()) - 1}"
    assert progress(signed_in_client, job, wait=wait).status_code == 200
    Cycle.objects.filter(pk=resumed.pk).update(status=CycleStatus.COMPLETED, finished_at=timezone.now())
    assert progress(signed_in_client, job, wait=wait).status_code == 286


# --- commands -------------------------------------------------------------------------------------------


def passed_test_connection(job) -> None:
    """What Test Connection records when the saved credentials pass."""
    ProvisioningJob.objects.filter(pk=job.pk).update(
        credentials_fingerprint=Credentials.from_job(job).fingerprint(), credentials_tested_at=timezone.now()
    )
    job.refresh_from_db()


def post(client, name, job):
    return client.post(reverse(f"provisioning:{name}", args=[job.application_id]))


def test_start_turns_provisioning_on_and_waits_for_the_cycle(
    signed_in_client, job, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("provisioning.tasks.run_cycle.delay", lambda *args: queued.append(args))
    passed_test_connection(job)
    previous = cycle(job)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(signed_in_client, "app_start", job)
    job.refresh_from_db()
    assert job.enabled and job.state == JobState.ACTIVE
    assert queued == [(job.pk,)]
    assert response.status_code == 302 and f"?wait={previous.pk}." in response["Location"]
    follow = signed_in_client.get(response["Location"])
    assert "Provisioning started" in html(follow)
    assert f"?wait={previous.pk}." in html(follow) and 'hx-trigger="every 2s"' in html(follow)
    assert AuditEntry.objects.filter(activity=Activity.START_PROVISIONING).exists()


def test_start_refuses_credentials_that_never_passed_test_connection(signed_in_client, job):
    page = html(overview(signed_in_client, job))
    assert 'data-testid="start-provisioning" disabled' in page
    assert control.NOT_TESTED in page
    response = post(signed_in_client, "app_start", job)
    job.refresh_from_db()
    assert response.status_code == 302 and "wait" not in response["Location"] and not job.enabled
    follow = html(signed_in_client.get(response["Location"]))
    assert f"Provisioning can&#x27;t start: {control.NOT_TESTED}" in follow
    assert not AuditEntry.objects.filter(activity=Activity.START_PROVISIONING).exists()


def test_start_refuses_credentials_changed_since_the_test_with_the_forms_message(signed_in_client, job):
    passed_test_connection(job)
    ProvisioningJob.objects.filter(pk=job.pk).update(secret_token="another-token")
    response = post(signed_in_client, "app_start", job)
    job.refresh_from_db()
    assert not job.enabled
    assert "The admin credentials changed since the last successful Test Connection." in html(
        signed_in_client.get(response["Location"])
    )


def test_start_lifts_a_quarantine_as_the_api_does(
    signed_in_client, job, django_capture_on_commit_callbacks, monkeypatch
):
    monkeypatch.setattr("provisioning.tasks.run_cycle.delay", lambda *args: None)
    passed_test_connection(job)
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=False, state=JobState.QUARANTINE, quarantine_reason="EncounteredEscrowProportionThreshold"
    )
    with django_capture_on_commit_callbacks(execute=True):
        post(signed_in_client, "app_start", job)
    job.refresh_from_db()
    assert job.enabled and job.state == JobState.ACTIVE and job.quarantine_reason == ""
    assert AuditEntry.objects.filter(activity=Activity.RELEASE_QUARANTINE).exists()


def test_stop_pauses_the_running_cycle(signed_in_client, job):
    ProvisioningJob.objects.filter(pk=job.pk).update(enabled=True, state=JobState.ACTIVE)
    running = cycle(job, status=CycleStatus.RUNNING, processed=10)
    response = post(signed_in_client, "app_stop", job)
    job.refresh_from_db()
    running.refresh_from_db()
    assert response.status_code == 302 and "wait" not in response["Location"]
    assert not job.enabled and job.state == JobState.PAUSED
    assert running.status == CycleStatus.PAUSED
    assert AuditEntry.objects.filter(activity=Activity.STOP_PROVISIONING).exists()
    page = html(signed_in_client.get(response["Location"]))
    assert "Paused" in page and 'data-testid="start-provisioning"' in page


def test_restart_clears_state_and_runs_an_initial_cycle(
    signed_in_client, job, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr("provisioning.tasks.run_cycle.delay", lambda *args: queued.append(args))
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=True,
        state=JobState.QUARANTINE,
        quarantine_reason="EncounteredEscrowProportionThreshold",
        quarantine_since=timezone.now(),
        watermark=77,
        needs_full_sync=False,
    )
    running = cycle(job, status=CycleStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        response = post(signed_in_client, "app_restart", job)
    job.refresh_from_db()
    running.refresh_from_db()
    assert (
        job.state == JobState.ACTIVE
        and job.quarantine_reason == ""
        and job.watermark == 0
        and job.needs_full_sync
    )
    assert running.status == CycleStatus.FAILED
    assert queued == [(job.pk, True)]
    assert "?wait=" in response["Location"]
    assert AuditEntry.objects.filter(activity=Activity.RESTART_PROVISIONING).exists()


def test_commands_need_post(signed_in_client, job):
    for name in ("app_start", "app_stop", "app_restart", "app_allow_deletes"):
        assert (
            signed_in_client.get(reverse(f"provisioning:{name}", args=[job.application_id])).status_code
            == 405
        )
    job.refresh_from_db()
    assert not job.enabled


# --- quarantine -----------------------------------------------------------------------------------------


def quarantine_job(job, reason, details="details of the failure"):
    ProvisioningJob.objects.filter(pk=job.pk).update(
        enabled=True,
        state=JobState.QUARANTINE,
        quarantine_reason=reason,
        quarantine_since=timezone.now() - timedelta(hours=1),
        quarantine_details=details,
        next_run_at=timezone.now() + timedelta(hours=5),
    )


def test_quarantine_banner_shows_reason_and_recommended_action(signed_in_client, job):
    quarantine_job(job, "EncounteredQuarantineException", "The target answered 401 Unauthorized.")
    page = html(overview(signed_in_client, job))
    assert 'data-testid="quarantine-banner"' in page
    assert 'data-testid="quarantine-reason">EncounteredQuarantineException' in page
    assert "The target answered 401 Unauthorized." in page
    assert quarantine.recommended_action("EncounteredQuarantineException").split(",")[0] in page
    assert "Next attempt" in page
    assert 'data-testid="allow-deletes"' not in page
    assert 'data-testid="job-state">Quarantine' in page


def test_no_banner_when_healthy(signed_in_client, job):
    assert 'data-testid="quarantine-banner"' not in html(overview(signed_in_client, job))


def test_too_many_deletes_offers_allow_deletes(signed_in_client, job):
    quarantine_job(job, "TooManyDeletes", "600 deletions and disables were staged; the threshold is 500.")
    stopped = cycle(job, status=CycleStatus.QUARANTINED, phase="deprovision", finished_at=timezone.now())
    page = html(overview(signed_in_client, job))
    assert 'data-testid="allow-deletes"' in page and "600 deletions" in page
    assert "Allow deletes" in quarantine.recommended_action("TooManyDeletes")
    response = post(signed_in_client, "app_allow_deletes", job)
    job.refresh_from_db()
    stopped.refresh_from_db()
    assert job.state == JobState.ACTIVE and job.quarantine_reason == ""
    assert stopped.force_deletes and stopped.status != CycleStatus.QUARANTINED
    assert "?wait=" in response["Location"]
    entry = AuditEntry.objects.get(activity=Activity.RESTART_PROVISIONING)
    assert entry.changes[0]["new"] == "ForceDeletes"


def test_allow_deletes_without_a_stopped_cycle_just_clears_the_quarantine(signed_in_client, job):
    quarantine_job(job, "TooManyDeletes")
    response = post(signed_in_client, "app_allow_deletes", job)
    job.refresh_from_db()
    assert job.state == JobState.ACTIVE and "wait" not in response["Location"]
    assert "no stopped cycle" in html(signed_in_client.get(response["Location"]))


def test_a_quarantined_cycle_does_not_claim_99_percent(signed_in_client, job):
    quarantine_job(job, "TooManyDeletes")
    stopped = cycle(job, status=CycleStatus.QUARANTINED, total=10, processed=10, phase="deprovision")
    assert cycle_progress(stopped, timezone.now()).percent == 100  # objects processed: all of them
    page = html(overview(signed_in_client, job))
    percent = page.split('data-testid="progress-percent">', 1)[1].split("</span>", 1)[0]
    assert "99" not in percent and "complete" not in percent
    assert percent == "Quarantined: the cycle did not finish"
    assert "10 of 10 objects processed" in page


def test_allow_deletes_without_a_stopped_cycle_says_so_and_does_not_wait(signed_in_client, job):
    quarantine_job(job, "TooManyDeletes", "600 deletions and disables were staged; the threshold is 500.")
    response = post(signed_in_client, "app_allow_deletes", job)
    job.refresh_from_db()
    assert job.quarantine_reason == ""
    assert "?wait=" not in response["Location"]
    page = html(signed_in_client.get(response["Location"]))
    assert "Quarantine cleared; there was no stopped cycle with staged deletes." in page
