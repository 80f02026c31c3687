"""Least privilege in the mapping tester: an app owner tests with the principals assigned to their app only."""

import pytest
from django.urls import reverse

from portal.accounts.models import ApplicationOwner, RoleAssignment
from portal.accounts.roles import PortalRole
from portal.applications import services
from portal.directory.models import DirectoryGroup, DirectoryUser, GroupMembership
from tests.fixtures.mappings import try_expression
from tests.fixtures.provisioning import ProvisionedApp

pytestmark = pytest.mark.django_db

REFUSED = "You can test this mapping only with the users and groups assigned to this application"


@pytest.fixture
def app() -> ProvisionedApp:
    application = services.instantiate("taskize-connect", "Taskize Connect")
    return ProvisionedApp(application.provisioning, application.app_roles.filter(is_default=False).first())


@pytest.fixture
def people(app):
    def user(name: str) -> DirectoryUser:
        return DirectoryUser.objects.create(
            display_name=f"{name} Person",
            user_principal_name=f"{name.lower()}@contoso.test",
            given_name=name,
            job_title=f"{name}'s secret title",
        )

    assigned, member, stranger = user("Assigned"), user("Member"), user("Stranger")
    team = DirectoryGroup.objects.create(display_name="Assigned Team")
    GroupMembership.objects.create(group=team, user=member)
    other_team = DirectoryGroup.objects.create(display_name="Another Team")
    app.assign(assigned)
    app.assign(team)
    # assigned to another app the owner does not own
    other = services.instantiate("taskize-connect", "Someone else's app")
    ProvisionedApp(other.provisioning, other.app_roles.first()).assign(stranger)
    return {
        "assigned": assigned,
        "member": member,
        "stranger": stranger,
        "team": team,
        "other_team": other_team,
    }


@pytest.fixture
def owner_client(client, django_user_model, app):
    owner = django_user_model.objects.create_user("owner", "owner@example.com", "pw")
    ApplicationOwner.objects.create(user=owner, application=app.job.application)
    client.force_login(owner)
    return client


def picker(client, app, term: str, key: str = "users", **params) -> tuple[int, str]:
    url = reverse("provisioning:mapping_test_objects", args=[app.job.application.service_principal_id, key])
    response = client.get(url, {"test_q": term, **params})
    return response.status_code, response.content.decode()


def test_an_owner_tests_with_a_user_assigned_to_their_app(owner_client, app, people):
    html = try_expression(owner_client, app.job.application, "[jobTitle]", people["assigned"])
    assert '<code data-testid="test-value">Assigned&#x27;s secret title</code>' in html
    html = try_expression(owner_client, app.job.application, "[jobTitle]", people["member"])  # via a group
    assert '<code data-testid="test-value">Member&#x27;s secret title</code>' in html


def test_an_owner_can_not_test_with_a_user_not_assigned_to_their_app(owner_client, app, people):
    response = owner_client.post(
        reverse(
            "provisioning:mapping_attribute_add", args=[app.job.application.service_principal_id, "users"]
        ),
        {
            "mapping_type": "Expression",
            "expression": "[jobTitle]",
            "target": "displayName",
            "apply": "Always",
            "action": "test",
            "test_object": str(people["stranger"].object_id),
        },
    )
    html = response.content.decode()
    assert response.status_code == 403
    assert REFUSED in html
    assert "secret title" not in html


def test_the_owners_picker_lists_only_assigned_principals(owner_client, app, people):
    status, html = picker(owner_client, app, "a")  # "Assigned Person", not "Another"; users only
    assert status == 200
    assert "assigned@contoso.test" in html
    status, html = picker(owner_client, app, "m")
    assert "member@contoso.test" in html
    status, html = picker(owner_client, app, "stranger")
    assert status == 200 and "stranger@contoso.test" not in html
    status, html = picker(owner_client, app, "s", test_object=str(people["stranger"].object_id))
    assert status == 403 and REFUSED in html and "stranger@contoso.test" not in html
    status, html = picker(owner_client, app, "a", key="groups")
    assert "Assigned Team" in html and "Another Team" not in html


def test_the_picker_inside_the_editor_lists_only_assigned_principals(owner_client, app, people):
    url = reverse(
        "provisioning:mapping_attribute_add", args=[app.job.application.service_principal_id, "users"]
    )
    html = owner_client.post(
        url, {"mapping_type": "Direct", "action": "search", "test_q": "s"}
    ).content.decode()
    assert "stranger@contoso.test" not in html
    html = owner_client.post(
        url, {"mapping_type": "Direct", "action": "search", "test_q": "a"}
    ).content.decode()
    assert "assigned@contoso.test" in html


@pytest.mark.parametrize("role", [PortalRole.GLOBAL_ADMINISTRATOR, PortalRole.APPLICATION_ADMINISTRATOR])
def test_admins_test_with_anyone(client, django_user_model, app, people, role):
    admin = django_user_model.objects.create_user("admin", "admin@example.com", "pw")
    RoleAssignment.objects.create(user=admin, role=role)
    client.force_login(admin)
    status, html = picker(client, app, "stranger")
    assert status == 200 and "stranger@contoso.test" in html
    html = try_expression(client, app.job.application, "[jobTitle]", people["stranger"])
    assert '<code data-testid="test-value">Stranger&#x27;s secret title</code>' in html
