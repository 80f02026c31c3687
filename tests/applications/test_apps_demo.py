"""The demo app loader: created once, pointing at the demo SCIM target, ready to switch On."""

import pytest
from django.conf import settings

from portal.applications.demo import DEMO_APP_NAME, ensure_demo_app
from portal.applications.models import Application, AppRoleAssignment
from portal.demo import demo_scim_token
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.sync.credentials import credentials_tested

pytestmark = pytest.mark.django_db


def _directory(users: int = 6, groups: int = 3) -> None:
    for i in range(users):
        DirectoryUser.objects.create(display_name=f"User {i}", user_principal_name=f"user{i}@contoso.test")
    for i in range(groups):
        DirectoryGroup.objects.create(display_name=f"Group {i}")


def test_demo_app_is_configured_tested_off_and_assigned():
    _directory()
    ensure_demo_app(8181)

    app = Application.objects.get(display_name=DEMO_APP_NAME)
    job = app.provisioning
    assert job.tenant_url == "http://127.0.0.1:8181/v2"
    assert job.secret_token == demo_scim_token(settings.VAR_DIR)
    assert credentials_tested(job)
    assert (job.notification_email, job.scope, job.enabled) == ("admin@example.com", "assigned", False)

    assignments = AppRoleAssignment.objects.filter(application=app).select_related("app_role")
    assert assignments.filter(group__isnull=False).count() == 2
    assert assignments.filter(user__isnull=False).count() == 3
    assert not any(a.app_role.is_default for a in assignments)


def test_demo_app_is_created_once():
    _directory()
    ensure_demo_app(8181)
    app = Application.objects.get()
    app.provisioning.notification_email = "changed@contoso.test"
    app.provisioning.save()

    ensure_demo_app(9999)

    assert Application.objects.count() == 1
    assert AppRoleAssignment.objects.count() == 5
    job = Application.objects.get().provisioning
    assert job.notification_email == "changed@contoso.test"  # the admin's edits survive
    assert job.tenant_url.endswith(":8181/v2")


def test_demo_app_with_an_empty_directory():
    ensure_demo_app(8181)
    assert Application.objects.filter(display_name=DEMO_APP_NAME).exists()
    assert not AppRoleAssignment.objects.exists()
