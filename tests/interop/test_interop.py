"""One directory, several independent SCIM servers: each must end in the state the directory says.

The same 20 users (2 managers, 18 reports; one manager already has an inactive account there, which is
adopted), 3 groups and their memberships are provisioned with the generic SCIM template, then renamed, UPN-changed, disabled, re-enabled, removed from a group,
unassigned and deleted. After every cycle each target's users and groups, read back through its own
SCIM API, are compared with the directory; a last full cycle must find nothing to change.
What each server needed (switches, mapping rows) is in conftest.py and docs/interoperability.md.
"""

from __future__ import annotations

from typing import Any

import pytest

from portal.directory import services as directory
from portal.directory.models import DirectoryUser, GroupMembership
from provisioning.connectors.scim.connector import ScimTarget
from provisioning.models import ProvisioningLog
from tests.fixtures.provisioning import ProvisionedApp, make_app, make_group, make_users, run
from tests.interop.conftest import InteropTarget

pytestmark = [pytest.mark.interop, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def configure(target: InteropTarget) -> ProvisionedApp:
    app = make_app(target.base_url, target.token, template="scim-generic")
    app.job.compatibility = target.compatibility
    app.job.save(update_fields=["compatibility"])
    users = app.job.object_mappings.get(key="users")
    users.attribute_mappings = [
        m for m in users.attribute_mappings if m["target"] not in target.drop_mappings
    ]
    users.save(update_fields=["attribute_mappings"])
    return app


def expected_state(app: ProvisionedApp, users: list[DirectoryUser], groups: list, dropped: tuple[str, ...]):
    """What the directory says the target holds: every provisioned user that still exists (disabled when
    disabled or unassigned), and each group with its members that have an account there (a disabled
    account stays a member, as in Entra: disabling is not leaving the group)."""
    assigned = {a.user_id for a in app.job.application.assignments.filter(user__isnull=False)}
    expected_users: dict[str, dict[str, Any]] = {}
    for user in DirectoryUser.objects.filter(pk__in=[u.pk for u in users], deleted_at__isnull=True):
        active = user.account_enabled and user.pk in assigned
        values: dict[str, Any] = {
            "active": active,
            "givenName": user.given_name,
            "familyName": user.surname,
        }
        if "displayName" not in dropped:
            values["displayName"] = user.display_name
        if f"{ENTERPRISE}:manager" not in dropped:
            values["manager"] = user.manager.user_principal_name.lower() if user.manager else None
        expected_users[user.user_principal_name.lower()] = values
    expected_groups = {
        group.display_name: {
            m.user.user_principal_name.lower()
            for m in GroupMembership.objects.filter(group=group, user__isnull=False).select_related("user")
            if m.user.user_principal_name.lower() in expected_users
        }
        for group in groups
    }
    return expected_users, expected_groups


def actual_state(target: InteropTarget, dropped: tuple[str, ...]):
    users, groups = target.state()
    names = {u["id"]: u["userName"].lower() for u in users}
    actual_users: dict[str, dict[str, Any]] = {}
    for user in users:
        values: dict[str, Any] = {
            "active": user.get("active") is True,
            "givenName": (user.get("name") or {}).get("givenName"),
            "familyName": (user.get("name") or {}).get("familyName"),
        }
        if "displayName" not in dropped:
            values["displayName"] = user.get("displayName")
        if f"{ENTERPRISE}:manager" not in dropped:
            manager = (user.get(ENTERPRISE) or {}).get("manager") or {}
            values["manager"] = names.get(manager.get("value")) if manager else None
        actual_users[user["userName"].lower()] = values
    actual_groups = {
        g["displayName"]: {names.get(m["value"], m["value"]) for m in g.get("members") or []} for g in groups
    }
    return actual_users, actual_groups


def assert_matches(target: InteropTarget, app: ProvisionedApp, users, groups, cycle) -> None:
    failures = list(
        ProvisioningLog.objects.filter(cycle_id=cycle.cycle_id, status="failure").values_list(
            "source_name", "error_code", "error_reason"
        )
    )
    assert cycle.status == "completed" and not failures, failures
    assert actual_state(target, target.drop_mappings) == expected_state(
        app, users, groups, target.drop_mappings
    )


def test_the_same_directory_reaches_the_same_end_state(celery_worker, interop_target, settings):
    settings.PROVISIONING_PAGE_SIZE = 50
    target = interop_target
    app = configure(target)
    bosses = make_users(2, prefix="boss")
    staff = [
        *make_users(9, prefix="eng", manager=bosses[0]),
        *make_users(9, prefix="sales", manager=bosses[1]),
    ]
    users = bosses + staff
    groups = [
        make_group("Engineering", [*staff[0:4], *staff[6:9], bosses[0]]),
        make_group("Sales", [*staff[9:18], bosses[1]]),
        make_group("Managers", bosses),
    ]
    for principal in [*users, *groups]:
        app.assign(principal)
    # An inactive account that already exists for one manager: adopted and re-activated (JSON true).
    with ScimTarget(target.base_url, token=target.token) as direct:
        existing = direct.create("User", {"userName": bosses[0].user_principal_name, "active": False})

    assert_matches(target, app, users, groups, run(app.job, initial=True))
    assert next(u for u in target.state()[0] if u["id"] == existing.id)["active"] is True

    renamed, moved, disabled, removed, unassigned, deleted = staff[0:6]
    renamed.display_name, renamed.surname = "Eng Renamed", "Renamed"
    renamed.save()
    moved.user_principal_name = "moved.upn@contoso.test"
    moved.save()
    directory.set_account_enabled(disabled, False)
    GroupMembership.objects.filter(group=groups[0], user=removed).delete()
    app.unassign(unassigned)
    directory.soft_delete(deleted)
    directory.purge(deleted)
    assert_matches(target, app, users, groups, run(app.job))

    directory.set_account_enabled(disabled, True)
    assert_matches(target, app, users, groups, run(app.job))

    again = run(app.job, initial=True)  # everything evaluated again: nothing may flap
    assert (again.created, again.updated, again.failed) == (0, 0, 0)
    assert_matches(target, app, users, groups, again)


def test_django_scim2_needs_the_value_list_member_removal(celery_worker, django_scim2_target, settings):
    """Why the matrix lists memberRemoval=valueList for django-scim2: the RFC path filter is a 501."""
    settings.PROVISIONING_PAGE_SIZE = 50
    target = django_scim2_target
    target.compatibility = {}
    app = configure(target)
    stays, leaves = make_users(2)
    group = make_group("Team", [stays, leaves])
    for principal in (stays, leaves, group):
        app.assign(principal)
    assert run(app.job, initial=True).failed == 0
    GroupMembership.objects.filter(group=group, user=leaves).delete()

    cycle = run(app.job)

    failure = ProvisioningLog.objects.get(cycle_id=cycle.cycle_id, status="failure")
    assert failure.source_name == "Team" and failure.error_code == "NotImplemented"
    app.job.compatibility = {"memberRemoval": "valueList"}
    app.job.save(update_fields=["compatibility"])
    assert run(app.job).failed == 0
    _, groups = target.state()
    assert [len(g["members"]) for g in groups] == [1]
