"""``/auditLogs/provisioning``: the provisioningObjectSummary shape, $filter, keyset paging, visibility."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from portal.accounts.models import ApplicationOwner
from portal.accounts.roles import PortalRole
from portal.applications.services import instantiate
from provisioning.models import ProvisioningLog
from tests.fixtures.api_client import ApiClient, assert_graph_error

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 1, 10, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def logs():
    """Two apps; 25 entries for the first (one failure), 3 for the second, a second apart."""
    first, second = instantiate("scim-generic", "First"), instantiate("taskize-connect", "Second")
    cycle = uuid.uuid4()
    rows = []
    for i in range(25):
        rows.append(
            ProvisioningLog(
                job=first.provisioning,
                activity_at=T0 + dt.timedelta(seconds=i),
                cycle_id=cycle,
                action="Create" if i % 2 else "Skip",
                status="failure" if i == 7 else "success",
                object_kind="User",
                source_id=str(uuid.UUID(int=i + 1)),
                source_name=f"User {i:02d}",
                target_id=f"t{i}",
                target_name=f"user{i}@contoso.com",
                duration_ms=i,
                steps=[
                    {"name": "Import", "status": "success", "description": "Received User", "details": {}},
                    {
                        "name": "Export",
                        "status": "failure" if i == 7 else "success",
                        "description": "POST /Users",
                        "details": {"http_status": 409 if i == 7 else 201},
                    },
                ],
                modified_properties=[{"name": "userName", "old": None, "new": f"user{i}@contoso.com"}],
                error_code="EntryConflict" if i == 7 else "",
                error_reason="HTTP 409 from the application" if i == 7 else "",
            )
        )
    for i in range(3):
        rows.append(
            ProvisioningLog(
                job=second.provisioning,
                activity_at=T0 + dt.timedelta(hours=1, seconds=i),
                cycle_id=uuid.uuid4(),
                action="Update",
                status="success",
                object_kind="Group",
                source_name=f"Group {i}",
            )
        )
    ProvisioningLog.objects.bulk_create(rows)
    return {"first": first, "second": second, "cycle": cycle}


def test_record_has_the_graph_shape(api, logs):
    body = api.get("/auditLogs/provisioning?$filter=statusInfo/status eq 'failure'").json()
    assert body["@odata.context"].endswith("$metadata#auditLogs/provisioning")
    [entry] = body["value"]
    app = logs["first"]
    assert entry["jobId"] == app.provisioning.job_id and entry["cycleId"] == str(logs["cycle"])
    assert (entry["action"], entry["provisioningAction"], entry["durationInMilliseconds"]) == (
        "Create",
        "create",
        7,
    )
    assert entry["activityDateTime"] == "2026-01-10T12:00:07Z"
    assert entry["servicePrincipal"] == {"id": str(app.service_principal_id), "displayName": "First"}
    assert entry["targetSystem"]["details"] == {
        "ApplicationId": str(app.app_id),
        "ServicePrincipalId": str(app.service_principal_id),
        "ServicePrincipalDisplayName": "First",
    }
    assert entry["sourceSystem"]["displayName"] == "Azure Active Directory"
    assert entry["initiatedBy"] == {
        "id": "",
        "displayName": "Azure AD Provisioning Service",
        "initiatorType": "system",
    }
    assert entry["sourceIdentity"] == {
        "id": str(uuid.UUID(int=8)),
        "displayName": "User 07",
        "identityType": "User",
        "details": {},
    }
    assert entry["statusInfo"]["status"] == "failure" and entry["statusInfo"]["errorCode"] == "EntryConflict"
    assert entry["provisioningStatusInfo"]["errorInformation"]["reason"] == "HTTP 409 from the application"
    assert [(s["name"], s["provisioningStepType"]) for s in entry["provisioningSteps"]] == [
        ("EntryImport", "import"),
        ("EntryExportAdd", "export"),
    ]
    assert entry["provisioningSteps"][1]["details"] == {"http_status": "409"}
    assert entry["modifiedProperties"] == [
        {"displayName": "userName", "oldValue": None, "newValue": "user7@contoso.com"}
    ]
    assert api.get(f"/auditLogs/provisioning/{entry['id']}").json()["changeId"] == entry["changeId"]


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("activityDateTime ge 2026-01-10T12:00:20Z", 8),
        ("activityDateTime ge 2026-01-10T12:00:20Z and activityDateTime le 2026-01-10T12:00:22Z", 3),
        ("activityDateTime lt 2026-01-10", 0),
        ("provisioningAction eq 'create'", 12),
        ("action eq 'Other'", 13),
        ("provisioningAction eq 'update' and sourceIdentity/identityType eq 'Group'", 3),
        ("statusInfo/status eq 'success'", 27),
        ("startswith(sourceIdentity/displayName, 'user 1')", 10),
        ("sourceIdentity/id eq '00000000-0000-0000-0000-000000000003'", 1),
    ],
)
def test_filters(api, logs, query, count):
    response = api.get(f"/auditLogs/provisioning?$filter={query}&$top=100")
    assert response.status_code == 200, response.content
    assert len(response.json()["value"]) == count


def test_filters_by_ids(api, logs):
    job_id = logs["first"].provisioning.job_id
    assert len(api.get(f"/auditLogs/provisioning?$filter=jobId eq '{job_id}'&$top=100").json()["value"]) == 25
    assert (
        len(api.get(f"/auditLogs/provisioning?$filter=cycleId eq {logs['cycle']}&$top=100").json()["value"])
        == 25
    )
    sp = logs["second"].service_principal_id
    assert len(api.get(f"/auditLogs/provisioning?$filter=servicePrincipal/id eq '{sp}'").json()["value"]) == 3
    change = ProvisioningLog.objects.first().change_id
    assert len(api.get(f"/auditLogs/provisioning?$filter=changeId eq {change}").json()["value"]) == 1


def test_keyset_paging_newest_first(api, logs):
    url, seen, pages = "/auditLogs/provisioning?$top=10&$select=id,activityDateTime", [], 0
    while url:
        body = api.get(url).json()
        pages += 1
        seen += body["value"]
        assert all(set(e) == {"id", "activityDateTime"} for e in body["value"])
        url = body.get("@odata.nextLink", "").replace("http://testserver", "")
        assert "$select" in url or not url
    assert pages == 3 and len(seen) == 28 == len({e["id"] for e in seen})
    times = [e["activityDateTime"] for e in seen]
    assert times == sorted(times, reverse=True)


def test_page_is_stable_while_new_entries_arrive(api, logs):
    first = api.get("/auditLogs/provisioning?$top=5").json()
    ProvisioningLog.objects.create(
        job=logs["first"].provisioning,
        activity_at=timezone.now(),
        cycle_id=uuid.uuid4(),
        action="Create",
        status="success",
        object_kind="User",
    )
    second = api.get(first["@odata.nextLink"].replace("http://testserver", "")).json()
    ids = [e["id"] for e in first["value"] + second["value"]]
    assert len(ids) == len(set(ids)) == 10


def test_owners_see_their_apps_logs_and_readers_see_all(client, logs, make_token, django_user_model):
    owner = django_user_model.objects.create_user("owner")
    ApplicationOwner.objects.create(application=logs["second"], user=owner)
    mine = (
        ApiClient(client, make_token(None, user=owner))
        .get("/auditLogs/provisioning?$top=100")
        .json()["value"]
    )
    assert {e["servicePrincipal"]["displayName"] for e in mine} == {"Second"}
    reader = ApiClient(client, make_token(PortalRole.REPORTS_READER))
    assert len(reader.get("/auditLogs/provisioning?$top=100").json()["value"]) == 28
    hidden = ProvisioningLog.objects.filter(job=logs["first"].provisioning).first()
    assert_graph_error(
        ApiClient(client, make_token(None, user=owner)).get(
            f"/auditLogs/provisioning/{uuid.UUID(int=hidden.pk)}"
        ),
        404,
    )
