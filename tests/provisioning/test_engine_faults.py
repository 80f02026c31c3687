"""A misbehaving target: the engine retries, never duplicates, and converges."""

import pytest

from provisioning.models import EscrowEntry, ProvisioningLog
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.provisioning import bulk_users, make_app, run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_flaky_target_converges_without_duplicates(celery_worker, scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 250
    settings.PROVISIONING_REQUEST_TIMEOUT = 0.5
    settings.PROVISIONING_RETRY_BASE_DELAY = 0.02
    faults = {
        "error_rate": 0.10,
        "throttle_rate": 0.05,
        "hang_rate": 0.02,
        "hang_seconds": 1.0,
        "retry_after": "0.2",
        "lose_rate": 0.01,
    }
    with FaultProxy(scim_server.base_url, seed=7, **faults) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        users = bulk_users(1000)
        for user in users:
            app.assign(user)
        # 20 s on a quiet machine; the margin is for a loaded one (hangs and timeouts stretch with it)
        cycles = [run(app.job, initial=True, timeout=240)]
        while cycles[-1].failed and len(cycles) < 6:
            cycles.append(run(app.job, timeout=240))  # failed objects are retried by the next cycles

    assert cycles[-1].failed == 0, [(c.kind, c.failed) for c in cycles]
    assert proxy.injected["error"] > 50 and proxy.injected["throttle"] > 20 and proxy.injected["hang"] > 5
    assert proxy.injected["lose_response"] > 3  # POSTs applied by the target whose answer never came back
    names = [u["userName"] for u in scim_server.users()]
    assert len(names) == len(set(names)) == 1000  # every user exactly once: no duplicate from a retried POST
    assert set(names) == {u.user_principal_name for u in users}
    for log in ProvisioningLog.objects.filter(job=app.job, status="failure"):
        assert log.error_code and log.error_reason and log.error_category, log
    # each log row carries the retries its requests needed (a POST whose answer was lost is never
    # retried blindly, so its failure shows 0 and the next cycle re-matches it)
    assert ProvisioningLog.objects.filter(job=app.job, retry_count__gte=1).count() > 20
    # every user was created, updated, or (its create's answer lost) linked to what the target holds;
    # a re-matched object whose values already match counts as linked, not as an update
    provisioned = (
        ProvisioningLog.objects.filter(
            job=app.job, status="success", action__in=["Create", "Update", "Other"]
        )
        .values("source_id")
        .distinct()
        .count()
    )
    assert provisioned == 1000
    # Every user is linked exactly once. A Bulk create whose answer was lost is re-matched and adopted;
    # its values already match, so it is linked without an update (it used to be "updated" because the
    # mapping's "True" never equalled the target's true: the flapping that typed values removed).
    assert EscrowEntry.objects.filter(job=app.job, object_kind="User").count() == 1000
    assert sum(c.created for c in cycles) > 0


def test_refused_member_patch_keeps_the_new_group_and_the_next_cycle_adds_its_members(
    celery_worker, scim_server
):
    from tests.fixtures.provisioning import make_group, make_users

    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        users = make_users(5, prefix="crew")
        app.assign(make_group("Crew", users))
        proxy.fail_next("error", method="PATCH", status=400)  # the first PATCH is the new group's member add
        first = run(app.job, initial=True)
        lookups = proxy.total("GET", "/Groups")
        second = run(app.job)
        lookups = proxy.total("GET", "/Groups") - lookups

    assert first.failed == 1 and proxy.injected["error"] == 1
    failure = ProvisioningLog.objects.get(job=app.job, cycle_id=first.cycle_id, status="failure")
    assert (failure.object_kind, failure.action) == ("Group", "Create")
    assert second.failed == 0
    assert lookups == 0  # the group is in the record: no matching lookup, no second create
    groups = scim_server.groups()
    assert [g["displayName"] for g in groups] == ["Crew"]  # created once, not again by the retry
    user_ids = {u["userName"]: u["id"] for u in scim_server.users()}
    assert {m["value"] for m in groups[0]["members"]} == {user_ids[u.user_principal_name] for u in users}
    retried = ProvisioningLog.objects.get(job=app.job, cycle_id=second.cycle_id, object_kind="Group")
    assert (retried.action, retried.status) == ("Update", "success")
