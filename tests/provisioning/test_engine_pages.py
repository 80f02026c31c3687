"""Cycles run here, page by page, against an application held in memory: the scenarios a worker runs.

``cycles.start_cycle`` plans the pages and ``cycles.run_page`` runs them, exactly as a worker's tasks
would, with the engine speaking to a ``MemoryTarget``. No HTTP, no worker, no sleeps: each test takes
milliseconds, and a fault happens on the call the test names. The same scenarios end to end (real worker,
real scim2-server) are in ``test_end_to_end.py``.
"""

import pytest
from django.core import mail
from django.urls import reverse

from portal.directory.models import DirectoryUser, GroupMembership
from provisioning import tasks
from provisioning.models import Cycle, CyclePage, EscrowEntry, ProvisioningJob, ProvisioningLog
from provisioning.sync import control, cycles
from tests.fixtures.memory_target import MemoryTarget
from tests.fixtures.provisioning import (
    MEMORY_URL,
    assert_every_user_linked_once,
    assert_organisation_provisioned,
    bulk_users,
    by_username,
    cycle_here,
    make_app,
    make_group,
    make_organisation,
    make_users,
    run_page,
    run_pending,
)

pytestmark = pytest.mark.django_db

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER = f"{ENTERPRISE}:manager"


def member_names(target: MemoryTarget, group: dict) -> set[str]:
    names = {u["id"]: u["userName"] for u in target.users()}
    return {names[m] for m in group["members"]}


# -- what a cycle sends ---------------------------------------------------------------------------


def test_initial_cycle_creates_users_groups_memberships_and_managers(memory_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 50
    app = make_app(MEMORY_URL, "token", template="scim-generic")
    organisation = make_organisation(app)

    cycle = cycle_here(app.job, memory_target, initial=True)

    assert_organisation_provisioned(
        cycle,
        organisation,
        memory_target,
        names=lambda user: (user["name.givenName"], user["name.familyName"]),
        manager=lambda user: user[MANAGER],
        members=lambda group: set(group["members"]),
    )


def test_second_cycle_without_changes_sends_no_write(memory_app, memory_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 20
    memory_app.assign(make_group("All", make_users(30)))
    first = cycle_here(memory_app.job, memory_target)
    assert first.created == 31
    before = memory_target.writes

    second = cycle_here(memory_app.job, memory_target, initial=True)

    assert second.status == "completed" and second.created == second.updated == 0
    assert memory_target.writes == before


def test_existing_account_is_matched_not_duplicated(memory_app, memory_target):
    existing = memory_target.seed("User", {"userName": "user0@contoso.test", "active": True})
    for user in make_users(3):
        memory_app.assign(user)

    cycle = cycle_here(memory_app.job, memory_target)

    target = by_username(memory_target)
    assert len(memory_target.users()) == 3
    assert target["user0@contoso.test"]["id"] == existing.id  # adopted, not created again
    assert target["user0@contoso.test"]["displayName"] == "User 0"  # and brought in line with the mappings
    assert cycle.created == 2


def test_change_unassign_reassign_and_delete_follow_entra(memory_app, memory_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 20
    alice, bob, carol = make_users(3)
    for user in (alice, bob, carol):
        memory_app.assign(user)
    cycle_here(memory_app.job, memory_target)
    target_ids = {u["userName"]: u["id"] for u in memory_target.users()}

    # one attribute change → one update carrying only that attribute
    alice.display_name = "Alice Renamed"
    alice.save()
    writes = memory_target.writes
    cycle = cycle_here(memory_app.job, memory_target)
    assert cycle.kind == "incremental" and cycle.updated == 1
    assert memory_target.writes == writes + 1 and memory_target.calls["update"] == 1
    log = ProvisioningLog.objects.get(cycle_id=cycle.cycle_id, source_id=str(alice.object_id))
    assert [p["name"] for p in log.modified_properties] == ["displayName"]
    assert by_username(memory_target)["user0@contoso.test"]["displayName"] == "Alice Renamed"

    # unassign → disabled; re-assign → enabled again
    memory_app.unassign(bob)
    cycle = cycle_here(memory_app.job, memory_target)
    assert cycle.disabled == 1
    assert by_username(memory_target)["user1@contoso.test"]["active"] is False
    memory_app.assign(bob)
    cycle_here(memory_app.job, memory_target)
    assert by_username(memory_target)["user1@contoso.test"]["active"] is True

    # soft delete → disabled; hard delete → DELETE
    carol.deleted_at = carol.updated_at
    carol._change_kind = "deleted"
    carol.save()
    cycle_here(memory_app.job, memory_target)
    assert by_username(memory_target)["user2@contoso.test"]["active"] is False
    DirectoryUser.objects.filter(pk=carol.pk).first().delete()
    cycle = cycle_here(memory_app.job, memory_target)
    assert cycle.deleted == 1 and memory_target.calls["delete"] == 1
    assert "user2@contoso.test" not in by_username(memory_target)
    assert target_ids["user2@contoso.test"] not in {u["id"] for u in memory_target.users()}
    assert not EscrowEntry.objects.filter(job=memory_app.job, source_id=carol.object_id).exists()


def test_account_never_in_scope_is_untouched(memory_app, memory_target):
    stranger = memory_target.seed("User", {"userName": "stranger@contoso.test", "active": True})
    memory_app.assign(make_users(2)[0])
    cycle_here(memory_app.job, memory_target)
    cycle_here(memory_app.job, memory_target, initial=True)
    stored = by_username(memory_target)["stranger@contoso.test"]
    assert stored["id"] == stranger.id and stored["active"] is True and "displayName" not in stored


def test_group_membership_changes_arrive_as_member_updates(memory_app, memory_target):
    users = make_users(4)
    for user in users:
        memory_app.assign(user)
    group = make_group("Sales", users[:2])
    memory_app.assign(group)
    cycle_here(memory_app.job, memory_target)
    GroupMembership.objects.create(group=group, user=users[2])
    GroupMembership.objects.get(group=group, user=users[0]).delete()

    cycle = cycle_here(memory_app.job, memory_target)

    assert cycle.kind == "incremental"
    assert memory_target.calls["remove_members"] == 1 and memory_target.calls["update"] == 0
    members = member_names(memory_target, memory_target.groups()[0])
    assert members == {users[1].user_principal_name, users[2].user_principal_name}


def test_initial_cycle_into_an_empty_target_reports_no_updates_for_the_manager_pass(memory_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 50
    app = make_app(MEMORY_URL, "token", template="scim-generic")
    # Staff sorted before their bosses: their managers are set in the references pass.
    bosses = make_users(2, prefix="zboss")
    staff = [u for boss in bosses for u in make_users(3, prefix=f"a{boss.pk}staff", manager=boss)]
    for user in bosses + staff:
        app.assign(user)
    cycle = cycle_here(app.job, memory_target, initial=True)
    assert cycle.status == "completed"
    assert CyclePage.objects.filter(cycle=cycle, phase="references").exists()  # the pass did run
    users = by_username(memory_target)
    assert all(users[u.user_principal_name][MANAGER] for u in staff)
    assert (cycle.created, cycle.updated, cycle.failed) == (8, 0, 0)


def test_membership_for_bulk_imports_is_tracked(memory_app, memory_target):
    users = make_users(2)
    group = make_group("Bulk", [])
    memory_app.assign(group)
    cycle_here(memory_app.job, memory_target)
    GroupMembership.objects.create(group=group, user=users[0])
    cycle = cycle_here(memory_app.job, memory_target)
    assert cycle.created == 1  # the new member is now entitled through the group
    assert [u["userName"] for u in memory_target.users()] == [users[0].user_principal_name]


def test_incremental_cycle_sends_requests_only_for_changed_users(memory_app, memory_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 50
    users = bulk_users(200)
    memory_app.assign(make_group("Everyone", users))
    first = cycle_here(memory_app.job, memory_target)
    assert first.created == 201
    before = dict(memory_target.calls)
    for user in users[:3]:
        user.display_name += " (changed)"
        user.save()

    cycle = cycle_here(memory_app.job, memory_target)

    assert cycle.kind == "incremental" and cycle.total == 3 and cycle.updated == 3
    sent = {m: n - before.get(m, 0) for m, n in memory_target.calls.items() if n - before.get(m, 0)}
    assert sent == {"update": 3}, sent


# -- Off, On, Restart -----------------------------------------------------------------------------


def test_off_mid_cycle_then_on_resumes_without_resending_finished_pages(memory_app, settings):
    settings.PROVISIONING_PAGE_SIZE = 10
    target = MemoryTarget(bulk=True)
    memory_app.assign(make_group("Everyone", bulk_users(300)))
    cycle = cycles.start_cycle(memory_app.job.pk)
    for _ in range(3):
        run_page(CyclePage.objects.filter(cycle=cycle, status="pending").order_by("index").first(), target)

    control.stop(memory_app.job)
    cycle.refresh_from_db()
    assert cycle.status == "paused"
    pending = CyclePage.objects.filter(cycle=cycle, status="pending")
    assert pending.count() > 0
    sent_while_paused = target.requests
    run_page(pending.order_by("index").first(), target)  # a page delivered while Off does nothing
    assert target.requests == sent_while_paused

    control.start(memory_app.job)
    cycle = run_pending(Cycle.objects.get(job=memory_app.job), target)
    assert cycle.status == "completed" and cycle.created == 301
    # one Bulk request per page of 10 new users, one for the group: no finished page was sent again
    assert target.calls["bulk_create"] == 30 + 1 and target.calls["create"] == 0
    assert len(target.users()) == 300


def test_restart_rebuilds_the_record_by_matching_without_duplicates(memory_app, memory_target):
    memory_app.assign(make_group("Everyone", make_users(40)))
    first = cycle_here(memory_app.job, memory_target)
    assert first.created == 41
    ids = {u["id"] for u in memory_target.users()}

    control.restart(memory_app.job, reset_scope="Full")
    cycle = cycle_here(memory_app.job, memory_target)  # the cycle Restart queues

    assert cycle.kind == "initial" and cycle.status == "completed"
    assert cycle.created == 0
    assert {u["id"] for u in memory_target.users()} == ids  # same accounts, none duplicated
    assert EscrowEntry.objects.filter(job=memory_app.job, object_kind="User").count() == 40


def test_pages_run_by_two_workers_make_one_cycle(memory_app, memory_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 10
    users = bulk_users(40)
    memory_app.assign(make_group("Everyone", users))
    cycle = cycles.start_cycle(memory_app.job.pk)
    for turn in range(10):
        cycle.refresh_from_db()
        if cycle.status != "running":
            break
        page = CyclePage.objects.filter(cycle=cycle, phase=cycle.phase, status="pending").first()
        run_page(page, memory_target, worker=f"worker-{turn % 2}")
    cycle.refresh_from_db()
    workers = set(CyclePage.objects.filter(cycle=cycle).values_list("processed_by", flat=True))
    assert workers == {"worker-0", "worker-1"}
    assert cycle.status == "completed" and cycle.created == 41 and cycle.processed == 41
    assert sorted(u["userName"] for u in memory_target.users()) == sorted(
        u.user_principal_name for u in users
    )


# -- faults ---------------------------------------------------------------------------------------


def test_refused_member_update_keeps_the_new_group_and_the_next_cycle_adds_its_members(
    memory_app, memory_target
):
    users = make_users(5, prefix="crew")
    memory_app.assign(make_group("Crew", users))
    memory_target.fail_next("add_members", status=400)  # the new group's member add
    first = cycle_here(memory_app.job, memory_target, initial=True)
    lookups = memory_target.calls["find"] + memory_target.calls["find_many"]
    second = cycle_here(memory_app.job, memory_target)
    lookups = memory_target.calls["find"] + memory_target.calls["find_many"] - lookups

    assert first.failed == 1 and memory_target.failed["add_members"] == 1
    failure = ProvisioningLog.objects.get(job=memory_app.job, cycle_id=first.cycle_id, status="failure")
    assert (failure.object_kind, failure.action) == ("Group", "Create")
    assert second.failed == 0
    assert lookups == 0  # the group is in the record: no matching lookup, no second create
    groups = memory_target.groups()
    assert [g["displayName"] for g in groups] == ["Crew"]  # created once, not again by the retry
    assert member_names(memory_target, groups[0]) == {u.user_principal_name for u in users}
    retried = ProvisioningLog.objects.get(job=memory_app.job, cycle_id=second.cycle_id, object_kind="Group")
    assert (retried.action, retried.status) == ("Update", "success")


def test_faulty_target_converges_without_duplicates(memory_app, memory_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 25
    users = bulk_users(100)
    for user in users:
        memory_app.assign(user)
    # refused, failing and lost answers, spread over the first cycle's calls (never enough in a row to
    # look like an outage): each object affected fails once, or is adopted after its lost create
    memory_target.fail_next("find_many", count=2, status=500)
    memory_target.fail_next("create", count=3, status=500)
    memory_target.fail_next("create", count=4, fault="lost")
    memory_target.fail_next("create", count=2, status=429)

    cycles_run = [cycle_here(memory_app.job, memory_target, initial=True)]
    while cycles_run[-1].failed and len(cycles_run) < 6:
        cycles_run.append(cycle_here(memory_app.job, memory_target))  # failed objects are retried

    assert [c.failed for c in cycles_run] == [7, 0]  # 2 lookups + 3 + 2 creates; the lost ones adopted
    assert memory_target.failed == {"find_many": 2, "create": 9}
    assert_every_user_linked_once(memory_app.job, memory_target, users)  # no duplicate from a lost create
    adopted = ProvisioningLog.objects.filter(job=memory_app.job, status="success", action="Other")
    assert adopted.count() == 4  # a lost create's values already match: linked, not updated
    assert EscrowEntry.objects.filter(job=memory_app.job, object_kind="User").count() == 100


def test_a_failed_existence_check_never_leads_to_a_create(memory_app, memory_target):
    user = make_users(1)[0]
    memory_app.assign(user)
    memory_target.fail_next("find_many", status=503)

    first = cycle_here(memory_app.job, memory_target)

    assert memory_target.calls["create"] == 0 and memory_target.users() == []
    log = ProvisioningLog.objects.get(cycle_id=first.cycle_id)
    assert log.status == "failure" and log.steps[-1]["name"] == "Matching"
    assert first.failed == 1
    second = cycle_here(memory_app.job, memory_target)  # the failed object is retried
    assert second.failed == 0 and [u["userName"] for u in memory_target.users()] == [user.user_principal_name]


def test_a_dead_target_pauses_the_page_and_the_rest_resumes_without_failures(
    memory_app, memory_target, settings
):
    settings.PROVISIONING_TARGET_FAILURE_THRESHOLD = 3
    users = make_users(30)
    for user in users:
        memory_app.assign(user)
    cycle = cycles.start_cycle(memory_app.job.pk)
    memory_target.set_outage("down")
    run_page(CyclePage.objects.get(cycle=cycle), memory_target)
    memory_target.set_outage(None)

    cycle.refresh_from_db()
    assert cycle.status == "running" and cycle.target_pauses == 1
    assert memory_target.calls["find_many"] == 3  # three lookups tripped the breaker; nothing more was sent
    resumed = CyclePage.objects.get(cycle=cycle, status="pending")
    assert len(resumed.items) == 30 and resumed.queued_at is not None
    cycle = run_pending(cycle, memory_target)
    assert cycle.status == "completed" and cycle.failed == 0 and cycle.created == 30
    assert sorted(by_username(memory_target)) == sorted(u.user_principal_name for u in users)
    assert ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id).count() == 30  # one row each


def test_the_pause_before_trying_a_dead_target_again_doubles(memory_app, memory_target, settings, frozen_now):
    settings.PROVISIONING_TARGET_FAILURE_THRESHOLD = 1
    settings.PROVISIONING_TARGET_BACKOFF = 30.0
    memory_app.assign(make_users(1)[0])
    cycle = cycles.start_cycle(memory_app.job.pk)
    memory_target.set_outage("down")
    waits = []
    for _ in range(3):
        page = CyclePage.objects.filter(cycle=cycle, status="pending").get()
        run_page(page, memory_target)
        resumed = CyclePage.objects.filter(cycle=cycle, status="pending").get()
        waits.append((resumed.queued_at - frozen_now).total_seconds())
    assert waits == [30, 60, 120]


def test_a_target_down_for_good_ends_the_cycle_and_the_next_cycle_resumes(
    memory_app, memory_target, settings
):
    settings.PROVISIONING_TARGET_FAILURE_THRESHOLD = 2
    settings.PROVISIONING_TARGET_MAX_PAUSES = 1
    for user in make_users(10):
        memory_app.assign(user)
    memory_target.set_outage("down")
    cycle = cycle_here(memory_app.job, memory_target)
    memory_target.set_outage(None)
    assert cycle.status == "failed" and "unreachable" in cycle.error
    retried = cycle_here(memory_app.job, memory_target)
    assert retried.status == "completed" and len(memory_target.users()) == 10


def test_a_401_quarantines_at_once_emails_once_and_the_next_cycle_resumes(
    memory_app, memory_target, held_tasks, django_capture_on_commit_callbacks
):
    ProvisioningJob.objects.filter(pk=memory_app.job.pk).update(notification_email="ops@contoso.test")
    users = make_users(20)
    for user in users:
        memory_app.assign(user)
    memory_target.set_outage("status", status=401)

    with django_capture_on_commit_callbacks(execute=True):  # the email goes out after commit
        cycle = cycle_here(memory_app.job, memory_target)
    assert memory_target.calls["find_many"] == 1  # the first refusal stopped the page
    with django_capture_on_commit_callbacks(execute=True):
        cycle_here(memory_app.job, memory_target, initial=True)  # still failing: no second email

    job = ProvisioningJob.objects.get(pk=memory_app.job.pk)
    assert cycle.status == "failed" and job.state == "Quarantine"
    assert job.quarantine_reason == "EncounteredQuarantineException"
    assert len([m for m in mail.outbox if "quarantined" in m.subject]) == 1
    assert mail.outbox[0].to == ["ops@contoso.test"] and "/provisioning" in mail.outbox[0].body
    # one log entry says why the cycle stopped; the objects not reached are not failures
    [log] = ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id)
    assert log.status == "failure" and log.error_code and cycle.failed == 1
    assert CyclePage.objects.filter(cycle=cycle, status="pending").values_list("items", flat=True)

    memory_target.set_outage(None)
    retried = cycle_here(memory_app.job, memory_target)
    assert retried.status == "completed" and len(memory_target.users()) == 20


def test_a_page_still_running_when_a_401_fails_its_cycle_is_never_raced_by_the_next_cycle(
    memory_app, memory_target, settings, held_tasks
):
    """Two workers share a cycle. While B's page is between its creates, A's page meets a revoked token:
    the cycle fails. The token comes back and the next cycle is asked for at once (as the scheduler does):
    it must not touch B's objects before B has written their links, or it POSTs a userName B is about to
    create (or just created) a second time."""
    settings.PROVISIONING_PAGE_SIZE = 5
    users = make_users(10)
    for user in users:
        memory_app.assign(user)
    cycle = cycles.start_cycle(memory_app.job.pk)
    page_a, page_b = CyclePage.objects.filter(cycle=cycle).order_by("index")
    started_meanwhile = []

    def worker_a_and_the_scheduler() -> None:
        memory_target.set_outage("status", status=401)
        run_page(page_a, memory_target)  # A: refused at its first lookup; the cycle fails, quarantine
        assert Cycle.objects.get(pk=cycle.pk).status == "failed"
        assert ProvisioningJob.objects.get(pk=memory_app.job.pk).state == "Quarantine"
        memory_target.set_outage(None)  # a valid token again
        tasks.run_cycle(memory_app.job.pk)  # what the scheduler does next
        started_meanwhile.extend(Cycle.objects.filter(job=memory_app.job).exclude(pk=cycle.pk))
        for started in started_meanwhile:
            run_pending(started, memory_target)

    memory_target.meanwhile("create", 2, worker_a_and_the_scheduler)  # B has 2 users created, 3 to go
    run_page(page_b, memory_target)  # B

    twice = {name: n for name, n in memory_target.posts.items() if n > 1}
    assert twice == {}  # no userName POSTed again (today: B's last 3, created by the next cycle, then 409)
    assert started_meanwhile == []  # the next cycle waits for B's page to be saved...
    assert [name for name, _args, _kwargs in held_tasks] == [
        "provisioning.tasks.run_cycle"
    ]  # ...queued again
    tasks.run_cycle(*held_tasks[0][1], **held_tasks[0][2])
    retried = run_pending(Cycle.objects.filter(job=memory_app.job).latest("pk"), memory_target)

    assert retried.status == "completed" and retried.failed == 0
    assert memory_target.posts == {u.user_principal_name: 1 for u in users}  # each userName POSTed once
    assert_every_user_linked_once(memory_app.job, memory_target, users)


def test_pause_and_resume_while_a_page_runs_never_runs_it_twice_at_once(memory_app, memory_target, settings):
    """An admin pauses and resumes while a worker is between two creates of a page: resuming queues the
    pages that were waiting, not the one still running (run again beside it, it would POST the users
    the first run had created, or was about to, a second time)."""
    settings.PROVISIONING_PAGE_SIZE = 5
    users = make_users(5)
    for user in users:
        memory_app.assign(user)
    cycle = cycles.start_cycle(memory_app.job.pk)
    page = CyclePage.objects.get(cycle=cycle)
    second_runs = []

    def pause_resume_and_deliver() -> None:
        cycles.pause(memory_app.job)
        assert cycles.resume(memory_app.job)
        for queued in CyclePage.objects.filter(cycle=cycle, status="pending", queued_at__isnull=False):
            try:
                run_page(queued, memory_target)  # another worker gets the queued page
                second_runs.append(queued.index)
            except cycles.PageBusy:
                pass  # the task returns: the live run finishes it

    memory_target.meanwhile("create", 2, pause_resume_and_deliver)
    run_page(page, memory_target)

    assert {name: n for name, n in memory_target.posts.items() if n > 1} == {}
    assert second_runs == []
    cycle.refresh_from_db()
    assert cycle.status == "completed" and cycle.created == 5 and cycle.failed == 0
    assert_every_user_linked_once(memory_app.job, memory_target, users)


def test_a_401_mid_page_blames_the_refused_user_and_keeps_the_creates_before_it(
    memory_app, memory_target, settings
):
    """The token is revoked between two creates of a page: the users created before keep their
    successful Create rows (and are not retried); the log row that says why the cycle stopped is the
    first refused user's, not the page's first user's (whose success it used to hide for good)."""
    settings.PROVISIONING_TARGET_FAILURE_THRESHOLD = 3
    users = make_users(5)
    for user in users:
        memory_app.assign(user)
    memory_target.meanwhile("create", 2, lambda: memory_target.set_outage("status", status=401))

    cycle = cycle_here(memory_app.job, memory_target)

    assert cycle.status == "failed" and memory_target.calls["create"] == 5  # 2 created, then 3 refusals
    rows = {
        log.source_id: (log.action, log.status)
        for log in ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id)
    }
    ids = [str(u.object_id) for u in users]
    assert rows == {
        ids[0]: ("Create", "success"),
        ids[1]: ("Create", "success"),
        ids[2]: ("Other", "failure"),
    }
    memory_target.set_outage(None)
    retried = cycle_here(memory_app.job, memory_target)
    assert retried.status == "completed" and retried.created == 3
    succeeded = ProvisioningLog.objects.filter(job=memory_app.job, status="success")
    assert set(succeeded.values_list("source_id", flat=True)) == set(ids)  # each user has its success row
    assert memory_target.posts == {u.user_principal_name: 1 for u in users}


def test_a_credential_failure_leaves_a_log_entry_to_filter_for(memory_app, memory_target, signed_in_client):
    user = make_users(1)[0]
    memory_app.assign(user)
    memory_target.set_outage("status", status=401)

    cycle = cycle_here(memory_app.job, memory_target)

    assert cycle.status == "failed" and cycle.failed == 1
    assert "credentials" in cycle.error.lower() or "401" in cycle.error or "token" in cycle.error.lower()
    [log] = ProvisioningLog.objects.filter(job=memory_app.job, cycle_id=cycle.cycle_id)
    assert log.status == "failure" and log.error_code and log.source_id == str(user.object_id)
    # The admin finds it with the logs' Status: Failure filter, and the overview shows the reason.
    application_id = memory_app.job.application_id
    logs = signed_in_client.get(
        reverse("provisioning:app_logs", args=[application_id]), {"status": "failure"}
    ).content.decode()
    assert log.error_code in logs and user.display_name in logs
    overview = signed_in_client.get(
        reverse("provisioning:app_overview", args=[application_id])
    ).content.decode()
    assert cycle.error in overview or cycle.error[:60] in overview


# -- accidental deletions -------------------------------------------------------------------------


def test_too_many_deletions_stop_the_cycle_until_an_admin_allows_them(
    memory_app, memory_target, signed_in_client, settings, held_tasks, django_capture_on_commit_callbacks
):
    settings.PROVISIONING_PAGE_SIZE = 5  # the staged disables span two pages
    ProvisioningJob.objects.filter(pk=memory_app.job.pk).update(
        notification_email="ops@contoso.test", deletion_threshold=5
    )
    assignments = [memory_app.assign(u) for u in bulk_users(7)]
    assert cycle_here(memory_app.job, memory_target).created == 7
    for assignment in assignments[:6]:
        assignment.delete()

    with django_capture_on_commit_callbacks(execute=True):
        cycle = cycle_here(memory_app.job, memory_target)

    job = ProvisioningJob.objects.get(pk=memory_app.job.pk)
    assert cycle.status == "quarantined" and cycle.staged_deletions == 6
    assert job.quarantine_reason == "TooManyDeletes"
    assert all(u["active"] for u in memory_target.users()) and memory_target.calls["set_active"] == 0
    assert len(mail.outbox) == 1 and "quarantined" in mail.outbox[0].subject
    service_principal = job.application.service_principal_id
    page = signed_in_client.get(reverse("provisioning:deletions", args=[service_principal]))
    assert page.status_code == 200 and page.content.count(b"<td>Disable</td>") == 6

    signed_in_client.post(reverse("provisioning:allow_deletes", args=[service_principal]))
    cycle = run_pending(Cycle.objects.get(pk=cycle.pk), memory_target)  # the same cycle, resumed

    assert cycle.status == "completed" and cycle.disabled == 6
    assert sum(1 for u in memory_target.users() if u["active"] is False) == 6
    assert ProvisioningJob.objects.get(pk=job.pk).state != "Quarantine"
