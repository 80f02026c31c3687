"""Enterprise applications pages as an admin sees them: gallery, list, overview, properties, users and groups."""

import pytest
from django.urls import reverse

from portal.applications import services
from portal.applications.models import Application, AppRoleAssignment
from portal.audit import Activity
from portal.directory.models import (
    ChangeKind,
    DirectoryChange,
    GroupMembership,
)
from portal.models import AuditEntry
from tests.fixtures.directory import directory_group, directory_user

pytestmark = pytest.mark.django_db


HTMX = {"HTTP_HX_REQUEST": "true"}


def htmx(target: str) -> dict[str, str]:
    return {**HTMX, "HTTP_HX_TARGET": target}


@pytest.fixture
def app():
    return services.instantiate("taskize-connect", "Taskize Connect")


def url(name: str, app: Application, *args) -> str:
    return reverse(name, args=[app.service_principal_id, *args])


# --- gallery -------------------------------------------------------------------------------------


def test_gallery_lists_every_template_with_its_logo(signed_in_client):
    html = signed_in_client.get(reverse("applications:gallery")).content.decode()
    assert "Browse the application gallery" in html
    for name in ("Taskize Connect", "Slack", "Zoom", "GitHub Enterprise Managed User"):
        assert name in html
    assert 'src="/static/gallery/taskize-connect.svg"' in html
    assert 'hx-get="/applications/gallery/"' in html  # search as you type


def test_gallery_search_as_you_type_returns_only_the_tiles(signed_in_client):
    response = signed_in_client.get(
        reverse("applications:gallery"), {"q": "taskize"}, **htmx("gallery-results")
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'id="gallery-results"' in html
    assert "Taskize Connect" in html and "Slack" not in html
    assert "1 application matching" in html


def test_gallery_search_without_javascript_renders_the_whole_page(signed_in_client):
    html = signed_in_client.get(reverse("applications:gallery"), {"q": "financial"}).content.decode()
    assert "<html" in html and "Taskize Connect" in html and "Zoom" not in html  # by category


def test_gallery_search_with_no_match_says_so(signed_in_client):
    html = signed_in_client.get(reverse("applications:gallery"), {"q": "zzzz"}).content.decode()
    assert "No gallery application matches “zzzz”" in html


def test_create_from_the_gallery_adds_the_app_and_opens_its_overview(signed_in_client):
    create = reverse("applications:gallery_create", args=["taskize-connect"])
    page = signed_in_client.get(create).content.decode()
    assert 'value="Taskize Connect"' in page and ">Create</button>" in page

    response = signed_in_client.post(create, {"display_name": "Taskize (test)"}, follow=True)

    app = Application.objects.get()
    assert app.display_name == "Taskize (test)"
    assert response.redirect_chain[-1][0] == url("applications:overview", app)
    html = response.content.decode()
    assert "Taskize (test) was added to your enterprise applications." in html
    assert str(app.app_id) in html and str(app.service_principal_id) in html
    assert AuditEntry.objects.filter(activity=Activity.ADD_APPLICATION).count() == 1


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("", "Enter a name for the application."),
        ("   ", "Enter a name for the application."),
        ("x" * 300, "at most 256"),
    ],
)
def test_create_with_a_bad_name_shows_the_error_and_creates_nothing(signed_in_client, name, error):
    response = signed_in_client.post(
        reverse("applications:gallery_create", args=["slack"]), {"display_name": name}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not Application.objects.exists()


def test_unknown_gallery_template_is_a_404(signed_in_client):
    assert signed_in_client.get(reverse("applications:gallery_create", args=["nope"])).status_code == 404
    assert signed_in_client.post(reverse("applications:gallery_create", args=["nope"]), {}).status_code == 404


# --- list ----------------------------------------------------------------------------------------


def test_list_shows_apps_and_searches(signed_in_client):
    services.instantiate("slack", "Slack")
    services.instantiate("zoom", "Zoom Meetings")
    html = signed_in_client.get(reverse("applications:app_list")).content.decode()
    assert "Slack" in html and "Zoom Meetings" in html and "+ New application" in html

    fragment = signed_in_client.get(reverse("applications:app_list"), {"q": "zoom"}, **htmx("app-results"))
    text = fragment.content.decode()
    assert "<html" not in text and "Zoom Meetings" in text and "Slack" not in text


def test_empty_list_points_to_the_gallery(signed_in_client):
    html = signed_in_client.get(reverse("applications:app_list")).content.decode()
    assert "No applications yet." in html
    html = signed_in_client.get(reverse("applications:app_list"), {"q": "x"}).content.decode()
    assert "No application matches “x”." in html


def test_navigation_has_enterprise_applications_and_audit_logs(signed_in_client):
    html = signed_in_client.get(reverse("applications:app_list")).content.decode()
    assert ">Enterprise applications</span></a>" in html and ">Audit logs</span></a>" in html


# --- overview, properties, delete ------------------------------------------------------------------


def test_overview_shows_the_properties_and_the_blade_menu(signed_in_client, app):
    html = signed_in_client.get(url("applications:overview", app)).content.decode()
    assert "Taskize Connect | Overview" in html
    for text in (
        str(app.app_id),
        str(app.service_principal_id),
        "Taskize",
        "Users and groups",
        "Provisioning",
    ):
        assert text in html
    assert url("provisioning:configuration", app) in html


def test_unknown_app_is_a_404(signed_in_client):
    assert signed_in_client.get("/applications/00000000-0000-0000-0000-000000000000/").status_code == 404
    assert signed_in_client.get("/applications/not-a-uuid/").status_code == 404


def test_rename_from_properties(signed_in_client, app, admin_user):
    response = signed_in_client.post(
        url("applications:properties", app), {"display_name": "Taskize EU"}, follow=True
    )
    assert "The application is now named Taskize EU." in response.content.decode()
    app.refresh_from_db()
    assert app.display_name == "Taskize EU"
    entry = AuditEntry.objects.get(activity=Activity.UPDATE_APPLICATION)
    assert entry.changes == [{"field": "display_name", "old": "Taskize Connect", "new": "Taskize EU"}]


def test_rename_to_blank_shows_a_field_error(signed_in_client, app):
    response = signed_in_client.post(url("applications:properties", app), {"display_name": "  "})
    assert response.status_code == 200
    assert "Enter a name for the application." in response.content.decode()
    app.refresh_from_db()
    assert app.display_name == "Taskize Connect"


def test_rename_to_the_same_name_says_nothing_changed(signed_in_client, app):
    response = signed_in_client.post(
        url("applications:properties", app), {"display_name": "Taskize Connect"}, follow=True
    )
    assert "Nothing to save: the name is unchanged." in response.content.decode()


def test_delete_asks_for_confirmation_then_deletes(signed_in_client, app):
    page = signed_in_client.get(url("applications:delete", app)).content.decode()
    assert "Delete Taskize Connect?" in page and "Yes, delete" in page
    assert Application.objects.exists()  # GET deletes nothing

    response = signed_in_client.post(url("applications:delete", app), follow=True)
    assert "Taskize Connect was deleted." in response.content.decode()
    assert not Application.objects.exists()
    assert signed_in_client.get(url("applications:overview", app)).status_code == 404


# --- users and groups ---------------------------------------------------------------------------------


def test_assignments_page_lists_principals_roles_and_the_default_access_note(signed_in_client, app):
    user, group = directory_user("Ada Lovelace"), directory_group("Traders")
    services.add_assignment(app, user, app.app_roles.get(is_default=True))
    services.add_assignment(app, group, app.app_roles.get(display_name="User"))

    html = signed_in_client.get(url("applications:assignments", app)).content.decode()

    assert "Ada Lovelace" in html and "ada.lovelace@contoso.test" in html and "Traders" in html
    assert "Default Access</strong> role are not provisioned" in html
    assert "1 assignment here has Default Access." in html
    assert html.count("Not provisioned") == 1
    assert html.count(">Remove</a>") == 2


def test_assignments_page_when_empty(signed_in_client, app):
    html = signed_in_client.get(url("applications:assignments", app)).content.decode()
    assert "No users or groups are assigned." in html


def test_picker_searches_users_and_groups_as_you_type(signed_in_client, app):
    directory_user("Ada Lovelace")
    directory_user("Bob Builder")
    directory_group("Admins")
    response = signed_in_client.get(
        url("applications:assignment_add", app), {"q": "ad"}, **htmx("candidates")
    )
    html = response.content.decode()
    assert "<html" not in html and 'id="candidates"' in html
    assert "Ada Lovelace" in html and "Admins" in html and "Bob Builder" not in html


def test_picker_keeps_the_selected_principals_while_searching_again(signed_in_client, app):
    ada = directory_user("Ada Lovelace")
    directory_user("Bob Builder")
    response = signed_in_client.get(
        url("applications:assignment_add", app),
        {"q": "bob", "principal": services.principal_token(ada)},
        **htmx("candidates"),
    )
    html = response.content.decode()
    assert f'value="{services.principal_token(ada)}" checked' in html
    assert "Bob Builder" in html and html.index("Ada Lovelace") < html.index("Bob Builder")  # selected first


def test_picker_with_no_match_says_so(signed_in_client, app):
    html = signed_in_client.get(url("applications:assignment_add", app), {"q": "zed"}).content.decode()
    assert "No user or group starts with “zed”." in html


def test_add_assignment_of_a_user_and_a_group_with_a_role(signed_in_client, app):
    ada, traders = directory_user("Ada Lovelace"), directory_group("Traders")
    role = app.app_roles.get(display_name="User")
    response = signed_in_client.post(
        url("applications:assignment_add", app),
        {
            "principal": [services.principal_token(ada), services.principal_token(traders)],
            "app_role": role.pk,
        },
        follow=True,
    )
    assert "Assigned Ada Lovelace, Traders with the role User." in response.content.decode()
    assert AppRoleAssignment.objects.filter(app_role=role).count() == 2
    kinds = list(
        DirectoryChange.objects.filter(kind=ChangeKind.ASSIGNED, app_id=app.pk).values_list(
            "object_kind", flat=True
        )
    )
    assert sorted(kinds) == ["Group", "User"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({}, "Select at least one user or group."),
        ({"principal": "user:not-a-uuid", "app_role": "ROLE"}, "no longer exists"),
        ({"principal": "ADA"}, "Select a role."),
        ({"principal": "ADA", "app_role": "999999"}, "Select one of this application&#x27;s roles."),
        ({"principal": "ADA", "app_role": "abc"}, "Select one of this application&#x27;s roles."),
    ],
)
def test_add_assignment_errors_are_shown_on_the_fields(signed_in_client, app, data, error):
    ada = directory_user("Ada Lovelace")
    role = app.app_roles.get(display_name="User")
    data = {
        k: (services.principal_token(ada) if v == "ADA" else str(role.pk) if v == "ROLE" else v)
        for k, v in data.items()
    }
    response = signed_in_client.post(url("applications:assignment_add", app), data)
    assert response.status_code == 200
    assert error in response.content.decode()
    assert not AppRoleAssignment.objects.exists()


def test_add_assignment_refuses_a_role_of_another_app(signed_in_client, app):
    other = services.instantiate("zoom", "Zoom")
    ada = directory_user("Ada Lovelace")
    response = signed_in_client.post(
        url("applications:assignment_add", app),
        {"principal": services.principal_token(ada), "app_role": other.app_roles.first().pk},
    )
    assert "Select one of this application&#x27;s roles." in response.content.decode()


def test_add_the_same_assignment_twice_is_a_field_error(signed_in_client, app):
    ada = directory_user("Ada Lovelace")
    role = app.app_roles.get(display_name="User")
    services.add_assignment(app, ada, role)
    response = signed_in_client.post(
        url("applications:assignment_add", app),
        {"principal": services.principal_token(ada), "app_role": role.pk},
    )
    assert "Ada Lovelace already has the role User." in response.content.decode()
    assert AppRoleAssignment.objects.count() == 1


def test_remove_assignment_confirms_then_removes(signed_in_client, app, admin_user):
    ada = directory_user("Ada Lovelace")
    assignment = services.add_assignment(app, ada, app.app_roles.get(display_name="User"))
    remove = url("applications:assignment_remove", app, assignment.assignment_id)

    page = signed_in_client.get(remove).content.decode()
    assert "Remove the assignment of <strong>Ada Lovelace</strong>" in page
    response = signed_in_client.post(remove, follow=True)

    assert "Removed the assignment of Ada Lovelace." in response.content.decode()
    assert not AppRoleAssignment.objects.exists()
    assert DirectoryChange.objects.filter(kind=ChangeKind.UNASSIGNED, object_id=ada.object_id).count() == 1
    assert AuditEntry.objects.filter(activity=Activity.REMOVE_USER_ASSIGNMENT, actor=admin_user).exists()


def test_remove_an_assignment_of_another_app_is_a_404(signed_in_client, app):
    other = services.instantiate("zoom", "Zoom")
    assignment = services.add_assignment(other, directory_user("Ada Lovelace"), other.app_roles.first())
    remove = url("applications:assignment_remove", app, assignment.assignment_id)
    assert signed_in_client.post(remove).status_code == 404
    assert AppRoleAssignment.objects.exists()


def test_effective_tab_shows_direct_and_group_paths(signed_in_client, app):
    ada, mia = directory_user("Ada Lovelace"), directory_user("Mia Member")
    traders = directory_group("Traders")
    GroupMembership.objects.create(group=traders, user=mia)
    services.add_assignment(app, ada, app.app_roles.get(is_default=True))
    services.add_assignment(app, traders, app.app_roles.get(display_name="User"))

    html = signed_in_client.get(url("applications:effective", app)).content.decode()

    assert "2 users." in html
    ada_row = html[html.index("Ada Lovelace") : html.index("</tr>", html.index("Ada Lovelace"))]
    mia_row = html[html.index("Mia Member") : html.index("</tr>", html.index("Mia Member"))]
    assert "Direct" in ada_row and "No (Default Access)" in ada_row
    assert "Group: Traders" in mia_row and "In scope" in mia_row


@pytest.mark.parametrize("term", ["\x00", "ada\x00", "%", "_", "'; drop table x; --", "x" * 5000])
def test_hostile_search_terms_never_crash(signed_in_client, app, term):
    directory_user("Ada Lovelace")
    for path in (
        reverse("applications:app_list"),
        reverse("applications:gallery"),
        url("applications:assignment_add", app),
    ):
        assert signed_in_client.get(path, {"q": term}).status_code == 200, path
