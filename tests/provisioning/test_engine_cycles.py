"""Sync cycles against a real scim2-server, run by a real Celery worker."""

import pytest

from portal.directory.models import DirectoryUser, GroupMembership
from provisioning.models import EscrowEntry, ProvisioningLog
from tests.fixtures.fault_proxy import FaultProxy
from tests.provisioning.conftest import make_app, make_group, make_users, run

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def by_username(target) -> dict[str, dict]:
    return {u["userName"]: u for u in target.users()}


def writes(proxy: FaultProxy) -> int:
    return sum(proxy.total(method) for method in ("POST", "PATCH", "PUT", "DELETE"))


def test_initial_cycle_creates_users_groups_memberships_and_managers(celery_worker, scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 50
    app = make_app(scim_server.base_url, scim_server.token, template="scim-generic")
    bosses = make_users(10, prefix="boss")
    staff = [u for i, boss in enumerate(bosses) for u in make_users(19, prefix=f"staff{i}-", manager=boss)]
    groups = [make_group(f"Team {i}", [*staff[i * 9 : i * 9 + 9], bosses[i % 10]]) for i in range(20)]
    for group in groups:
        app.assign(group)
    for boss in bosses:
        app.assign(boss)
    outside = make_users(5, prefix="outsider")  # never assigned

    cycle = run(app.job, initial=True)

    assert cycle.status == "completed"
    users = by_username(scim_server)
    expected = {u.user_principal_name for u in bosses + staff[:180]}
    assert set(users) == expected  # exactly the assigned ones: 10 bosses + 9 staff per group
    assert not any(u.user_principal_name in users for u in outside)
    sample = staff[0]
    user = users[sample.user_principal_name]
    assert user["displayName"] == sample.display_name
    assert user["name"]["givenName"] == sample.given_name and user["name"]["familyName"] == sample.surname
    assert user["active"] is True
    boss_id = users[bosses[0].user_principal_name]["id"]
    assert user[ENTERPRISE]["manager"]["value"] == boss_id
    target_groups = {g["displayName"]: g for g in scim_server.groups()}
    assert set(target_groups) == {g.display_name for g in groups}
    ids = {u["id"]: name for name, u in users.items()}
    team0 = {ids[m["value"]] for m in target_groups["Team 0"]["members"]}
    assert team0 == {u.user_principal_name for u in staff[:9]} | {bosses[0].user_principal_name}
    assert cycle.created == len(expected) + 20 and cycle.failed == 0
    assert (
        ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id, action="Create", status="success").count()
        == cycle.created
    )


def test_second_cycle_without_changes_sends_no_write(celery_worker, scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 20
    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        users = make_users(30)
        app.assign(make_group("All", users))
        first = run(app.job)
        assert first.created == 31
        before = writes(proxy)
        second = run(app.job, initial=True)
        assert second.status == "completed" and second.created == second.updated == 0
        assert writes(proxy) == before


def test_existing_account_is_matched_not_duplicated(celery_worker, scim_server, provisioned_app):
    from provisioning.connectors.scim.connector import ScimTarget

    existing = ScimTarget(scim_server.base_url, token=scim_server.token).create(
        "User", {"userName": "user0@contoso.test", "active": True}
    )
    users = make_users(3)
    for user in users:
        provisioned_app.assign(user)

    cycle = run(provisioned_app.job)

    target = by_username(scim_server)
    assert len(scim_server.users()) == 3
    assert target["user0@contoso.test"]["id"] == existing.id  # adopted, not created again
    assert target["user0@contoso.test"]["displayName"] == "User 0"  # and brought in line with the mappings
    assert cycle.created == 2


def test_change_unassign_reassign_and_delete_follow_entra(celery_worker, scim_server, settings):
    settings.PROVISIONING_PAGE_SIZE = 20
    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, scim_server.token)
        alice, bob, carol = make_users(3)
        for user in (alice, bob, carol):
            app.assign(user)
        run(app.job)
        target_ids = {u["userName"]: u["id"] for u in scim_server.users()}

        # one attribute change → one PATCH carrying only that attribute
        alice.display_name = "Alice Renamed"
        alice.save()
        patches = proxy.total("PATCH")
        cycle = run(app.job)
        assert cycle.kind == "incremental" and cycle.updated == 1
        assert proxy.total("PATCH") == patches + 1
        log = ProvisioningLog.objects.get(cycle_id=cycle.cycle_id, source_id=str(alice.object_id))
        assert [p["name"] for p in log.modified_properties] == ["displayName"]
        assert by_username(scim_server)["user0@contoso.test"]["displayName"] == "Alice Renamed"

        # unassign → disabled; re-assign → enabled again
        app.unassign(bob)
        cycle = run(app.job)
        assert cycle.disabled == 1
        assert by_username(scim_server)["user1@contoso.test"]["active"] is False
        app.assign(bob)
        cycle = run(app.job)
        assert by_username(scim_server)["user1@contoso.test"]["active"] is True

        # soft delete → disabled; hard delete → DELETE
        carol.deleted_at = carol.updated_at
        carol._change_kind = "deleted"
        carol.save()
        run(app.job)
        assert by_username(scim_server)["user2@contoso.test"]["active"] is False
        DirectoryUser.objects.filter(pk=carol.pk).first().delete()
        cycle = run(app.job)
        assert cycle.deleted == 1
        assert "user2@contoso.test" not in by_username(scim_server)
        assert target_ids["user2@contoso.test"] not in {u["id"] for u in scim_server.users()}
        assert not EscrowEntry.objects.filter(job=app.job, source_id=carol.object_id).exists()


def test_account_never_in_scope_is_untouched(celery_worker, scim_server, provisioned_app):
    from provisioning.connectors.scim.connector import ScimTarget

    stranger = ScimTarget(scim_server.base_url, token=scim_server.token).create(
        "User", {"userName": "stranger@contoso.test", "active": True}
    )
    provisioned_app.assign(make_users(2)[0])
    run(provisioned_app.job)
    provisioned_app.job.refresh_from_db()
    run(provisioned_app.job, initial=True)
    stored = by_username(scim_server)["stranger@contoso.test"]
    assert stored["id"] == stranger.id and stored["active"] is True and "displayName" not in stored


def test_group_membership_changes_arrive_as_patch(celery_worker, scim_server, provisioned_app):
    users = make_users(4)
    for user in users:
        provisioned_app.assign(user)
    group = make_group("Sales", users[:2])
    provisioned_app.assign(group)
    run(provisioned_app.job)
    GroupMembership.objects.create(group=group, user=users[2])
    GroupMembership.objects.get(group=group, user=users[0]).delete()

    cycle = run(provisioned_app.job)

    assert cycle.kind == "incremental"
    target = {u["id"]: u["userName"] for u in scim_server.users()}
    members = {target[m["value"]] for m in scim_server.groups()[0]["members"]}
    assert members == {users[1].user_principal_name, users[2].user_principal_name}


def test_initial_cycle_into_an_empty_target_reports_no_updates_for_the_manager_pass(
    celery_worker, scim_server, settings
):
    settings.PROVISIONING_PAGE_SIZE = 50
    app = make_app(scim_server.base_url, scim_server.token, template="scim-generic")
    # Staff sorted before their bosses: their managers are set in the references pass.
    bosses = make_users(2, prefix="zboss")
    staff = [u for boss in bosses for u in make_users(3, prefix=f"a{boss.pk}staff", manager=boss)]
    for user in bosses + staff:
        app.assign(user)
    cycle = run(app.job, initial=True)
    assert cycle.status == "completed"
    users = by_username(scim_server)
    assert all(users[u.user_principal_name][ENTERPRISE]["manager"]["value"] for u in staff)
    assert (cycle.created, cycle.updated, cycle.failed) == (8, 0, 0)
