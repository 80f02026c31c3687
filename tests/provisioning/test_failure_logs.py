"""Failures an admin can debug from the provisioning log alone: one row per object per cycle, the request
sent and the answer received, the values it tried to set, and advice that matches what happened."""

import json

import pytest
from django.urls import reverse

from portal.accounts.models import RoleAssignment
from portal.accounts.roles import PortalRole
from portal.api.models import ApiToken
from provisioning.models import ProvisioningLog
from tests.fixtures.api_client import ApiClient
from tests.fixtures.fault_proxy import FaultProxy
from tests.fixtures.provisioning import cycle_here, make_app, make_users

pytestmark = pytest.mark.django_db


@pytest.fixture
def graph(client, admin_user) -> ApiClient:
    """The Graph-style API as a Global Administrator."""
    RoleAssignment.objects.create(user=admin_user, role=PortalRole.GLOBAL_ADMINISTRATOR)
    return ApiClient(client, ApiToken.issue(admin_user, "test", 1)[1])


def test_a_409_whose_rematch_finds_nothing_is_explained_in_the_log_ui_and_api(
    scim_server, settings, client, admin_user, graph
):
    settings.PROVISIONING_USE_BULK = False
    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, scim_server.token, template="scim-generic")
        [ada] = make_users(1, prefix="ada")
        app.assign(ada)
        proxy.fail_next(
            "error",
            method="POST",
            path="/Users",
            status=409,
            scim_type="uniqueness",
            detail="A user with this userName already exists",
        )
        cycle = cycle_here(app.job, initial=True)

    assert cycle.failed == 1 and scim_server.users() == []
    log = ProvisioningLog.objects.get(job=app.job, cycle_id=cycle.cycle_id, source_id=str(ada.object_id))
    assert (log.action, log.status, log.error_code) == ("Create", "failure", "EntryConflict")
    assert "found no user" in log.error_reason and ada.user_principal_name in log.error_reason
    assert "will be matched and adopted" not in log.recommended_action
    assert "case" in log.recommended_action and "exists" in log.recommended_action
    # what it tried to set, although it failed
    modified = {p["name"]: p["new"] for p in log.modified_properties}
    assert modified["userName"] == ada.user_principal_name

    client.force_login(admin_user)
    page = client.get(reverse("provisioning:log_detail", args=[log.pk]) + "?tab=troubleshooting")
    html = page.content.decode()
    assert page.status_code == 200
    for shown in (
        "create User",
        "POST /Users",
        "409",
        "uniqueness",
        "A user with this userName already exists",
    ):
        assert shown in html, shown
    assert f"&quot;userName&quot;: &quot;{ada.user_principal_name}&quot;" in html  # the body sent

    body = graph.get(f"/auditLogs/provisioning?$filter=cycleId eq '{cycle.cycle_id}'").json()
    [record] = body["value"]
    details = record["statusInfo"]["additionalDetails"]
    assert "POST /Users" in details and "HTTP 409" in details and "uniqueness" in details
    assert (
        record["modifiedProperties"] and record["statusInfo"]["recommendedAction"] == log.recommended_action
    )
    export = next(s for s in record["provisioningSteps"] if s["status"] == "failure")
    assert json.loads(export["details"]["response"])["detail"] == "A user with this userName already exists"


def test_an_object_processed_twice_in_a_cycle_gets_one_log_row(scim_server, settings):
    """The manager pass (references phase) PATCHes a user created earlier in the same cycle."""
    settings.PROVISIONING_PAGE_SIZE = 50
    with FaultProxy(scim_server.base_url) as proxy:
        app = make_app(proxy.base_url, scim_server.token, template="scim-generic")
        [boss] = make_users(1, prefix="boss")
        [staff] = make_users(1, prefix="staff", manager=boss)
        app.assign(boss)
        app.assign(staff)
        # new users are created by POST: the only PATCH of the cycle is the staff member's manager
        proxy.fail_next("error", method="PATCH", status=400, scim_type="invalidValue", detail="bad manager")
        cycle = cycle_here(app.job, initial=True)

    rows = ProvisioningLog.objects.filter(
        job=app.job, cycle_id=cycle.cycle_id, source_id=str(staff.object_id)
    )
    assert rows.count() == 1, [(r.action, r.status) for r in rows]
    row = rows.get()
    assert (row.action, row.status, row.error_code) == (
        "Update",
        "failure",
        "SystemForCrossDomainIdentityManagementBadRequest",
    )
    exports = [(s["status"], s["description"]) for s in row.steps if s["name"] == "Export"]
    assert exports[0][0] == "success" and "Created" in exports[0][1]  # the create is still told
    assert exports[-1][0] == "failure"
    names = {p["name"] for p in row.modified_properties}
    assert "userName" in names and any(n.endswith(":manager") for n in names)
    assert ProvisioningLog.objects.filter(job=app.job, cycle_id=cycle.cycle_id).count() == 2
