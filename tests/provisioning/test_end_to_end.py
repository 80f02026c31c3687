"""A few cycles end to end: a real Celery worker provisioning into a real scim2-server.

The engine's scenarios run fast in ``test_engine_pages.py`` (cycles page by page, in-memory target) and
``test_engine_processor.py`` (the page processor alone). These keep what only the whole stack shows: the
tasks, the broker, the SCIM wire format, the connector's retries against real sockets, near-real-time.
Faults are scripted (exactly these requests fail), never random.
"""

import time

import pytest
from django.conf import settings

from provisioning.models import CyclePage, ProvisioningJob, ProvisioningLog
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.provisioning import (
    assert_every_user_linked_once,
    assert_organisation_provisioned,
    bulk_users,
    make_app,
    make_group,
    make_organisation,
    make_users,
    run,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def test_initial_cycle_creates_users_groups_memberships_and_managers(celery_worker, scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 50
    app = make_app(scim_server.base_url, scim_server.token, template="scim-generic")
    organisation = make_organisation(app)

    cycle = run(app.job, initial=True)

    assert_organisation_provisioned(
        cycle,
        organisation,
        scim_server,
        names=lambda user: (user["name"]["givenName"], user["name"]["familyName"]),
        manager=lambda user: user[ENTERPRISE]["manager"]["value"],
        members=lambda group: {m["value"] for m in group["members"]},
    )


def script_faults(proxy: FaultProxy) -> None:
    """51 failing, 21 throttled and 6 hanging lookups, interleaved; a Bulk create that fails once and
    four whose answers are lost (applied by the server, never answered)."""
    throttles, hangs = 21, 6
    for i in range(51):
        proxy.fail_next("error", method="GET", path="/Users", status=500)
        if i % 2 == 0 and throttles:
            proxy.fail_next("throttle", method="GET", path="/Users", retry_after="0.2")
            throttles -= 1
        if i % 8 == 0 and hangs:
            proxy.fail_next("hang", method="GET", path="/Users")
            hangs -= 1
    proxy.fail_next("error", method="POST", path="/Bulk", status=500)
    proxy.fail_next("lose_response", count=4, method="POST", path="/Bulk")


def test_faulty_target_converges_without_duplicates(celery_worker, scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 250
    settings.PROVISIONING_REQUEST_TIMEOUT = 0.5
    settings.PROVISIONING_RETRY_BASE_DELAY = 0.02
    with FaultProxy(scim_server.base_url, hang_seconds=1.0) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        users = bulk_users(300)  # six Bulk requests of 50: one fails once, four lose their answer
        for user in users:
            app.assign(user)
        script_faults(proxy)
        cycles = [run(app.job, initial=True, timeout=240)]
        while cycles[-1].failed and len(cycles) < 6:
            cycles.append(run(app.job, timeout=240))  # failed objects are retried by the next cycles

    assert cycles[-1].failed == 0, [(c.kind, c.failed) for c in cycles]
    assert proxy.injected["error"] == 52 and proxy.injected["throttle"] == 21 and proxy.injected["hang"] == 6
    assert proxy.injected["lose_response"] == 4  # Bulk creates applied by the target whose answer never came
    assert_every_user_linked_once(app.job, scim_server, users)  # no duplicate from a retried POST
    # each log row carries the retries its requests needed (a POST whose answer was lost is never
    # retried blindly, so its failure shows 0 and the next cycle re-matches it)
    assert ProvisioningLog.objects.filter(job=app.job, retry_count__gte=1).count() > 20
    assert sum(c.created for c in cycles) > 0


@pytest.mark.skipif(
    settings.CELERY_BROKER_URL.startswith("filesystem"),
    reason="the embedded filesystem broker is for one host; sharing a cycle between workers is tested on Redis (CI)",
)
def test_two_workers_share_one_cycle(celery_worker, worker_process, scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 10
    settings.PROVISIONING_CONCURRENCY = 1
    settings.PROVISIONING_USE_BULK = False  # one POST per user
    # every request takes 20 ms at least, so a page lasts 200 ms however fast the engine and the machine
    # are, and the other worker takes pages meanwhile (without it, one worker could finish them all)
    with FaultProxy(scim_server.base_url, delay=0.02) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        users = bulk_users(400)
        app.assign(make_group("Everyone", users))
        cycle = run(app.job)
    workers = set(CyclePage.objects.filter(cycle=cycle).values_list("processed_by", flat=True))
    assert len(workers) >= 2, workers  # both workers processed pages of the one cycle
    assert cycle.status == "completed" and cycle.created == 401 and cycle.processed == 401
    assert sorted(u["userName"] for u in scim_server.users()) == sorted(u.user_principal_name for u in users)


def test_near_real_time_change_reaches_the_target_within_seconds(celery_worker, scim_server, provisioned_app):
    user = make_users(1)[0]
    provisioned_app.assign(user)
    run(provisioned_app.job)
    ProvisioningJob.objects.filter(pk=provisioned_app.job.pk).update(near_real_time=True)

    user.display_name = "Changed just now"
    user.save()
    deadline = time.monotonic() + 8  # no cycle is started by the test: the change itself must get there
    while time.monotonic() < deadline and scim_server.users()[0]["displayName"] != "Changed just now":
        time.sleep(0.05)
    ProvisioningJob.objects.filter(pk=provisioned_app.job.pk).update(near_real_time=False)
    assert scim_server.users()[0]["displayName"] == "Changed just now"
