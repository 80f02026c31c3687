"""The application services: adding from the gallery, renaming, deleting, assignments, effective access."""

import re

import pytest

from portal.applications import services
from portal.applications.gallery import get_template
from portal.applications.models import DEFAULT_ACCESS, Application, AppRole, AppRoleAssignment
from portal.audit import Activity
from portal.directory.models import (
    ChangeKind,
    DirectoryChange,
    GroupMembership,
)
from portal.models import AuditEntry
from provisioning.models import JobState, ObjectMapping, ProvisioningJob
from tests.fixtures.directory import directory_group, directory_user

pytestmark = pytest.mark.django_db


# --- instantiate -----------------------------------------------------------------------------------


def test_instantiate_creates_the_app_roles_job_and_mappings_from_the_template():
    app = services.instantiate("taskize-connect", "  Taskize   Connect  ")
    template = get_template("taskize-connect")

    assert app.display_name == "Taskize Connect"
    assert (app.template_id, app.logo, app.publisher) == ("taskize-connect", template.logo, "Taskize")
    roles = {r.display_name: r for r in app.app_roles.all()}
    assert set(roles) == {DEFAULT_ACCESS, "User"}
    assert roles[DEFAULT_ACCESS].is_default and not roles["User"].is_default
    assert roles["User"].value == "User"

    job = ProvisioningJob.objects.get(application=app)
    assert re.fullmatch(r"taskizeconnect\.[0-9a-f]{32}\.[0-9a-f]{32}", job.job_id)
    assert (job.state, job.enabled) == (JobState.NOT_CONFIGURED, False)
    assert job.secret_token == "" and job.tenant_url == ""

    mappings = list(job.object_mappings.all())
    assert [m.key for m in mappings] == ["users", "groups"]
    users = mappings[0]
    expected = template.object_mapping("users")
    assert users.name == expected.name
    assert (users.source_object, users.target_object, users.enabled) == ("User", "User", True)
    assert users.actions == ["Create", "Update", "Delete"]
    assert users.attribute_mappings == list(expected.attribute_mappings)
    assert users.target_attributes == list(expected.target_attributes)
    assert users.scoping_filters == []


def test_instantiate_copies_mappings_so_edits_never_touch_the_gallery():
    app = services.instantiate("scim-generic", "Copy check")
    mapping = app.provisioning.object_mappings.get(key="users")
    mapping.attribute_mappings[0]["target"] = "changed"
    mapping.save()
    assert get_template("scim-generic").object_mapping("users").attribute_mappings[0]["target"] != "changed"


def test_instantiate_adds_every_role_of_a_template_with_several():
    app = services.instantiate("github-enterprise-managed-user", "GitHub EMU")
    names = set(app.app_roles.values_list("display_name", flat=True))
    assert names == {DEFAULT_ACCESS, "User", "Enterprise Owner", "Billing Manager", "Guest Collaborator"}
    assert app.provisioning.job_id.startswith("githubenterprisemanageduser.")


def test_two_instances_of_one_template_get_distinct_ids():
    a = services.instantiate("slack", "Slack A")
    b = services.instantiate("slack", "Slack B")
    assert a.app_id != b.app_id and a.service_principal_id != b.service_principal_id
    assert a.provisioning.job_id != b.provisioning.job_id


@pytest.mark.parametrize(
    ("template_id", "name", "field", "message"),
    [
        ("no-such-app", "x", "template_id", "There is no gallery application"),
        ("slack", "   ", "display_name", "Enter a name"),
        ("slack", "x" * 257, "display_name", "at most 256 characters"),
    ],
)
def test_instantiate_refuses_bad_input_and_creates_nothing(template_id, name, field, message):
    with pytest.raises(services.ApplicationError) as error:
        services.instantiate(template_id, name)
    assert error.value.field == field
    assert message in error.value.message
    assert not Application.objects.exists() and not ProvisioningJob.objects.exists()


def test_instantiate_is_audited(admin_user):
    app = services.instantiate("zoom", "Zoom", actor=admin_user)
    entry = AuditEntry.objects.get()
    assert (entry.activity, entry.actor_name, entry.target_name) == (
        Activity.ADD_APPLICATION,
        "admin",
        "Zoom",
    )
    assert entry.application_id == app.pk
    assert {"field": "template_id", "old": None, "new": "zoom"} in entry.changes


def test_restore_default_mappings_discards_edits_and_requests_an_initial_cycle():
    app = services.instantiate("taskize-connect", "Taskize")
    job = app.provisioning
    job.needs_full_sync = False
    job.save()
    job.object_mappings.filter(key="groups").delete()
    ObjectMapping.objects.filter(job=job, key="users").update(enabled=False, attribute_mappings=[])

    services.restore_default_mappings(job)

    job.refresh_from_db()
    assert job.needs_full_sync
    users = job.object_mappings.get(key="users")
    assert users.enabled and users.attribute_mappings
    assert list(job.object_mappings.values_list("key", flat=True)) == ["users", "groups"]
    assert AuditEntry.objects.filter(activity=Activity.UPDATE_MAPPINGS).exists()


# --- rename / delete -------------------------------------------------------------------------------


def test_rename_changes_the_name_and_audits_old_and_new(admin_user):
    app = services.instantiate("slack", "Slack")
    assert services.rename(app, " Slack  (prod) ", actor=admin_user)
    app.refresh_from_db()
    assert app.display_name == "Slack (prod)"
    entry = AuditEntry.objects.get(activity=Activity.UPDATE_APPLICATION)
    assert entry.changes == [{"field": "display_name", "old": "Slack", "new": "Slack (prod)"}]


def test_rename_to_the_same_name_writes_nothing():
    app = services.instantiate("slack", "Slack")
    assert services.rename(app, "Slack") is False
    assert not AuditEntry.objects.filter(activity=Activity.UPDATE_APPLICATION).exists()


def test_rename_to_blank_is_refused():
    app = services.instantiate("slack", "Slack")
    with pytest.raises(services.ApplicationError, match="Enter a name"):
        services.rename(app, "")


def test_delete_removes_everything_and_feeds_the_unassignments():
    app = services.instantiate("slack", "Slack")
    user = directory_user("Ada Lovelace")
    services.add_assignment(app, user, app.app_roles.get(display_name="User"))
    app_pk = app.pk

    services.delete_application(app)

    assert not Application.objects.exists()
    assert not ProvisioningJob.objects.exists() and not AppRoleAssignment.objects.exists()
    last = DirectoryChange.objects.order_by("-seq").first()
    assert (last.kind, last.object_id, last.app_id) == (ChangeKind.UNASSIGNED, user.object_id, app_pk)
    assert AuditEntry.objects.filter(activity=Activity.DELETE_APPLICATION, application_id=app_pk).exists()


def test_search_applications_by_name_publisher_and_ids():
    slack = services.instantiate("slack", "Slack")
    zoom = services.instantiate("zoom", "Zoom Video")
    assert list(services.search_applications("zoom")) == [zoom]
    assert list(services.search_applications("SLACK")) == [slack]
    assert list(services.search_applications(str(zoom.app_id))) == [zoom]
    assert list(services.search_applications(str(slack.service_principal_id))) == [slack]
    assert set(services.search_applications("")) == {slack, zoom}
    assert list(services.search_applications("nothing-like-this")) == []


# --- assignments -----------------------------------------------------------------------------------


def test_add_assignment_records_the_change_feed_and_the_audit(admin_user):
    app = services.instantiate("taskize-connect", "Taskize")
    role = app.app_roles.get(display_name="User")
    user, group = directory_user("Grace Hopper"), directory_group("Traders")

    a1 = services.add_assignment(app, user, role, actor=admin_user)
    a2 = services.add_assignment(app, group, role, actor=admin_user)

    assert (a1.user, a1.group, a2.user, a2.group) == (user, None, None, group)
    feed = list(DirectoryChange.objects.filter(kind=ChangeKind.ASSIGNED).order_by("seq"))
    assert [(c.object_kind, c.object_id, c.app_id) for c in feed] == [
        ("User", user.object_id, app.pk),
        ("Group", group.object_id, app.pk),
    ]
    activities = list(
        AuditEntry.objects.filter(application_id=app.pk).order_by("id").values_list("activity", flat=True)
    )
    assert activities[-2:] == [Activity.ADD_USER_ASSIGNMENT, Activity.ADD_GROUP_ASSIGNMENT]


def test_remove_assignment_records_the_change_feed_and_the_audit(admin_user):
    app = services.instantiate("taskize-connect", "Taskize")
    group = directory_group("Traders")
    assignment = services.add_assignment(app, group, app.app_roles.get(display_name="User"))

    services.remove_assignment(assignment, actor=admin_user)

    assert not AppRoleAssignment.objects.exists()
    last = DirectoryChange.objects.order_by("-seq").first()
    assert (last.object_kind, last.object_id, last.kind, last.app_id) == (
        "Group",
        group.object_id,
        ChangeKind.UNASSIGNED,
        app.pk,
    )
    entry = AuditEntry.objects.get(activity=Activity.REMOVE_GROUP_ASSIGNMENT)
    assert entry.target_name == "Traders" and entry.actor_name == "admin"


def test_same_principal_and_role_twice_is_refused_but_another_role_is_fine():
    app = services.instantiate("zoom", "Zoom")
    user = directory_user("Alan Turing")
    basic, licensed = app.app_roles.get(display_name="Basic"), app.app_roles.get(display_name="Licensed")
    services.add_assignment(app, user, basic)
    with pytest.raises(services.ApplicationError, match="already has the role Basic"):
        services.add_assignment(app, user, basic)
    services.add_assignment(app, user, licensed)
    assert AppRoleAssignment.objects.count() == 2


def test_role_of_another_app_and_deleted_principals_are_refused():
    app = services.instantiate("slack", "Slack")
    other = services.instantiate("zoom", "Zoom")
    user = directory_user("Katherine Johnson")
    with pytest.raises(services.ApplicationError, match="another application"):
        services.add_assignment(app, user, other.app_roles.first())
    from django.utils import timezone

    user.deleted_at = timezone.now()
    user.save()
    with pytest.raises(services.ApplicationError, match="recycle bin"):
        services.add_assignment(app, user, app.app_roles.first())


def test_find_principal_resolves_picker_values_and_rejects_junk():
    user, group = directory_user("Mary Jackson"), directory_group("Engineers")
    assert services.find_principal(services.principal_token(user)) == user
    assert services.find_principal(services.principal_token(group)) == group
    for junk in ("", "user:", "user:not-a-uuid", f"robot:{user.object_id}", f"group:{user.object_id}"):
        assert services.find_principal(junk) is None


def test_search_principals_finds_users_and_groups_by_prefix():
    ada = directory_user("Ada Lovelace", mail="ada@contoso.test")
    directory_user("Bob Builder")
    admins = directory_group("Admins")
    assert set(services.search_principals("ad")) == {ada, admins}
    assert services.search_principals("lovelace") == []  # prefix of display name / UPN / names only
    assert services.search_principals("ada@") == [ada]
    assert services.search_principals("") == []


def test_effective_assignments_follow_direct_members_of_assigned_groups_only():
    app = services.instantiate("taskize-connect", "Taskize")
    user_role = app.app_roles.get(display_name="User")
    default = app.app_roles.get(is_default=True)
    direct, member, nested_member, outsider = (
        directory_user(n) for n in ("Dan Direct", "Mia Member", "Ned Nested", "Otto")
    )
    traders, inner = directory_group("Traders"), directory_group("Inner")
    GroupMembership.objects.create(group=traders, user=member)
    GroupMembership.objects.create(group=traders, member_group=inner)
    GroupMembership.objects.create(group=inner, user=nested_member)
    services.add_assignment(app, direct, default)
    services.add_assignment(app, traders, user_role)
    assert outsider.pk

    rows = services.effective_assignments(app)

    summary = [
        (r.user.display_name, r.role.display_name, r.via_group and r.via_group.display_name) for r in rows
    ]
    assert summary == [("Dan Direct", DEFAULT_ACCESS, None), ("Mia Member", "User", "Traders")]
    assert [r.provisioned for r in rows] == [False, True]
    assert [r.user for r in services.effective_assignments(app, user=member)] == [member]


def test_app_role_default_is_first():
    app = services.instantiate("slack", "Slack")
    assert AppRole.objects.filter(application=app).first().is_default
