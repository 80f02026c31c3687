"""Nothing stays lost, a dead target pauses, a 401 quarantines: pages run in this process, real server.

The same engine decisions against an in-memory target (a failed lookup never creates, a target down for
good ends the cycle): test_engine_pages.py.

Pages are run here with ``cycles.run_page`` (tasks queued on commit never leave the test transaction),
which is exactly a lost task: the reaper's tests rely on it.
"""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from provisioning.models import CyclePage, ProvisioningJob, ProvisioningLog
from provisioning.sync import cycles
from provisioning.sync.directory_source import DirectorySource
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.provisioning import make_app, make_group, make_users, run_pending

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast(settings):
    settings.PROVISIONING_RETRY_BASE_DELAY = 0.01
    settings.PROVISIONING_CONCURRENCY = 2
    settings.PROVISIONING_PAGE_SIZE = 50


def test_a_401_on_the_first_requests_quarantines_at_once_and_emails(
    scim_server, settings, django_capture_on_commit_callbacks
):
    settings.PROVISIONING_CONCURRENCY = 4
    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, "not-the-token")
        ProvisioningJob.objects.filter(pk=app.job.pk).update(notification_email="ops@contoso.test")
        for user in make_users(20):
            app.assign(user)

        with django_capture_on_commit_callbacks(execute=True):  # the email goes out after commit
            cycle = run_pending(cycles.start_cycle(app.job.pk))

        # the lookups already in flight when the first 401 came back, not a whole page of them
        assert proxy.total("GET", "/Users") <= 4
    job = ProvisioningJob.objects.get(pk=app.job.pk)
    assert cycle.status == "failed" and job.quarantine_reason == "EncounteredQuarantineException"
    assert [m.subject for m in mail.outbox if "quarantined" in m.subject]
    # one log entry says why the cycle stopped (an admin filters for it); the objects not reached are not
    # failures: they wait for the next cycle
    logged = ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id)
    assert [row.status for row in logged] == ["failure"] and cycle.failed == 1
    assert CyclePage.objects.filter(cycle=cycle, status="pending").values_list("items", flat=True)

    ProvisioningJob.objects.filter(pk=job.pk).update(
        secret_token=scim_server.token, tenant_url=scim_server.base_url
    )
    retried = run_pending(cycles.start_cycle(job.pk))
    assert retried.status == "completed" and len(scim_server.users()) == 20


def test_a_dead_target_pauses_the_page_and_the_rest_resumes_without_failures(scim_server, settings):
    settings.PROVISIONING_TARGET_FAILURE_THRESHOLD = 3
    settings.PROVISIONING_TARGET_BACKOFF = 0.01
    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        users = make_users(30)
        for user in users:
            app.assign(user)
        cycle = cycles.start_cycle(app.job.pk)
        proxy.set_outage("drop")
        first_page = CyclePage.objects.get(cycle=cycle)
        cycles.run_page(first_page.pk)
        sent_while_down = proxy.total()
        proxy.set_outage(None)

        cycle.refresh_from_db()
        assert cycle.status == "running" and cycle.target_pauses == 1
        # three objects' lookups (each retried) tripped the breaker; the rest was never sent (the target's
        # /Schemas, read once for the attribute types, is retried as well)
        assert sent_while_down <= 3 * 4 + settings.PROVISIONING_CONCURRENCY * 4 + 4
        resumed = CyclePage.objects.get(cycle=cycle, status="pending")
        assert len(resumed.items) == 30 and resumed.queued_at is not None
        cycle = run_pending(cycle)

    assert cycle.status == "completed" and cycle.failed == 0 and cycle.created == 30
    assert sorted(u["userName"] for u in scim_server.users()) == sorted(u.user_principal_name for u in users)
    assert ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id).count() == 30  # one row each


def test_an_unexpected_error_fails_the_page_visibly_and_the_cycle_finishes(scim_server, monkeypatch):
    app = make_app(scim_server.base_url, scim_server.token)
    users = make_users(3)
    app.assign(make_group("Crew", users))
    cycle = cycles.start_cycle(app.job.pk)
    real_get = DirectorySource.get

    def get(self, kind, ids):
        if kind == "Group":
            raise ValueError("corrupt row")
        return real_get(self, kind, ids)

    monkeypatch.setattr(DirectorySource, "get", get)
    cycle = run_pending(cycle)

    assert (
        cycle.status == "failed"
        and "corrupt row" in cycle.error
        and "retried in the next cycle" in cycle.error
    )
    page = CyclePage.objects.get(cycle=cycle, phase="groups")
    assert page.status == "failed" and "ValueError: corrupt row" in page.error
    failed = ProvisioningLog.objects.get(cycle_id=cycle.cycle_id, object_kind="Group")
    assert failed.status == "failure" and failed.error_code == "PageFailed"
    assert cycle.failed == 1 and cycle.created == 3  # the users' page was saved as usual


def test_the_reaper_queues_lost_pages_again(scim_server, settings, django_capture_on_commit_callbacks):
    settings.PROVISIONING_PAGE_STALE_SECONDS = 60
    app = make_app(scim_server.base_url, scim_server.token)
    for user in make_users(3):
        app.assign(user)
    cycle = cycles.start_cycle(app.job.pk)  # its task never reaches a worker: lost
    page = CyclePage.objects.get(cycle=cycle)
    assert cycles.reap()["requeued"] == 0  # queued a moment ago: not lost yet

    CyclePage.objects.filter(pk=page.pk).update(queued_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks() as callbacks:
        assert cycles.reap()["requeued"] == 1
    assert callbacks  # handed to the broker again
    page.refresh_from_db()
    assert page.queued_at > timezone.now() - timedelta(seconds=30)

    assert "provisioning.tasks.reap_pages" in {
        e["task"] for e in django_settings.CELERY_BEAT_SCHEDULE.values()
    }


def test_a_page_that_never_finishes_fails_after_max_attempts(scim_server, settings):
    settings.PROVISIONING_PAGE_STALE_SECONDS = 60
    settings.PROVISIONING_PAGE_MAX_ATTEMPTS = 3
    app = make_app(scim_server.base_url, scim_server.token)
    for user in make_users(4):
        app.assign(user)
    cycle = cycles.start_cycle(app.job.pk)
    long_ago = timezone.now() - timedelta(minutes=5)
    CyclePage.objects.filter(cycle=cycle).update(
        attempts=3, queued_at=long_ago, heartbeat_at=long_ago, claimed_by="dead-worker"
    )

    assert cycles.reap()["failed"] == 1

    cycle.refresh_from_db()
    assert cycle.status == "failed" and "failed after repeated errors" in cycle.error
    assert ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id, status="failure").count() == 4
    assert scim_server.users() == []


def test_a_live_page_is_not_taken_by_a_second_delivery(scim_server):
    app = make_app(scim_server.base_url, scim_server.token)
    app.assign(make_users(1)[0])
    cycle = cycles.start_cycle(app.job.pk)
    page = CyclePage.objects.get(cycle=cycle)
    CyclePage.objects.filter(pk=page.pk).update(claimed_by="other-task", heartbeat_at=timezone.now())

    with pytest.raises(cycles.PageBusy):
        cycles.run_page(page.pk, task_id="this-task")
    assert scim_server.users() == []


def test_a_user_retried_in_a_later_cycle_joins_the_groups_exported_without_it(scim_server, settings):
    settings.PROVISIONING_USE_BULK = False
    settings.PROVISIONING_CONCURRENCY = 1
    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        users = make_users(3)
        app.assign(make_group("Crew", users))
        proxy.fail_next("error", method="POST", path="/Users", status=400)  # one user refused, once

        first = run_pending(cycles.start_cycle(app.job.pk))
        assert first.failed == 1 and len(scim_server.users()) == 2
        assert len(scim_server.groups()[0].get("members") or []) == 2

        second = run_pending(cycles.start_cycle(app.job.pk))  # incremental: nothing changed but the retry
    assert second.status == "completed" and second.failed == 0 and len(scim_server.users()) == 3
    members = {m["value"] for m in scim_server.groups()[0].get("members") or []}
    assert members == {u["id"] for u in scim_server.users()}
