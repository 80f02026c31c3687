"""On a real worker: a database error in a page is retried, and a big cycle does not hold back a small app."""

import time

import pytest
from django.db import OperationalError

from provisioning.models import Cycle
from provisioning.sync import cycles
from provisioning.tasks import run_cycle
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.provisioning import bulk_users, make_app, make_users, run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_database_error_in_a_page_is_retried_and_the_cycle_completes(
    celery_worker, scim_server, settings, monkeypatch
):
    settings.PROVISIONING_PAGE_RETRY_DELAY = 0.1
    settings.PROVISIONING_PAGE_SIZE = 5
    app = make_app(scim_server.base_url, scim_server.token)
    users = make_users(10)
    for user in users:
        app.assign(user)
    real = cycles._process
    failures = []

    def flaky(page, *args, **kwargs):
        if not failures:
            failures.append(page.pk)
            raise OperationalError("server closed the connection unexpectedly")
        return real(page, *args, **kwargs)

    monkeypatch.setattr(cycles, "_process", flaky)

    cycle = run(app.job, timeout=60)

    assert failures and cycle.status == "completed" and cycle.failed == 0
    assert sorted(u["userName"] for u in scim_server.users()) == sorted(u.user_principal_name for u in users)


def test_a_small_app_is_not_held_back_by_a_big_cycle(celery_worker, scim_server_session, settings):
    settings.PROVISIONING_PAGE_SIZE = 10
    settings.PROVISIONING_CONCURRENCY = 1
    settings.PROVISIONING_PAGES_IN_FLIGHT = 2  # the in-process worker runs 4 pages at once
    big_target, small_target = scim_server_session.tenant(), scim_server_session.tenant()
    with FaultProxy(big_target.base_url, delay=0.05) as slow:
        big = make_app(slow.base_url, big_target.token)
        for user in bulk_users(400):
            big.assign(user)
        small = make_app(small_target.base_url, small_target.token, template="scim-generic")
        for user in make_users(3, prefix="small"):
            small.assign(user)
        run_cycle.delay(big.job.pk)
        deadline = time.monotonic() + 60
        while not Cycle.objects.filter(job=big.job, pages_done__gte=1).exists():
            assert time.monotonic() < deadline, "the big cycle never started"
            time.sleep(0.05)

        small_cycle = run(small.job, timeout=120)
        big_cycle = Cycle.objects.get(job=big.job)

        assert small_cycle.status == "completed" and len(small_target.users()) == 3
        # the small app did not wait behind the 40 pages of the big one
        assert big_cycle.status == "running" and big_cycle.pages_done < 20, big_cycle.pages_done
        big_cycle = run_until_done(big_cycle)
    assert big_cycle.status == "completed" and len(big_target.users()) == 400


def run_until_done(cycle: Cycle, timeout: float = 180) -> Cycle:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cycle.refresh_from_db()
        if cycle.status != "running":
            return cycle
        time.sleep(0.1)
    raise AssertionError(f"cycle still running after {timeout}s")
