"""What a script written for Microsoft Graph (or Microsoft's own SDK) sends and expects, point by point.

Each test is one thing Graph does that the API once did differently: OData annotations in bodies,
the schema's PATCH and round trip, ``$count``, ``$orderby``, a member added twice, beta's
``creationTimestamp``, ``@odata.context``, GUID ids and the log's ``statusInfo`` types.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import uuid

import pytest

from portal.applications.services import instantiate
from portal.directory.models import DirectoryUser
from provisioning.models import ProvisioningJob, ProvisioningLog
from tests.fixtures.api_client import ApiClient, assert_graph_error

pytestmark = pytest.mark.django_db

EVENTUAL = {"ConsistencyLevel": "eventual"}
UNKNOWN = (
    "The property 'nickname' does not exist on type 'microsoft.graph.user'. Make sure to only use property "
    "names that are defined by the type or mark the type as open type."
)


def new_user(api: ApiClient, name: str, **extra) -> str:
    response = api.post(
        "/users", {"displayName": name, "userPrincipalName": f"{name.lower()}@contoso.com", **extra}
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def new_group(api: ApiClient, name: str) -> str:
    response = api.post("/groups", {"displayName": name, "mailNickname": name.lower()})
    assert response.status_code == 201, response.content
    return response.json()["id"]


# --- 1. OData annotations --------------------------------------------------------------------------------


def app_with_user_role(api: ApiClient, name: str) -> tuple[str, str]:
    """A new generic SCIM app: its service principal id and the id of its "User" role, as the API reads them."""
    sp = str(instantiate("scim-generic", name).service_principal_id)
    roles = api.get(f"/servicePrincipals/{sp}").json()["appRoles"]
    return sp, next(r["id"] for r in roles if r["displayName"] == "User")


def test_bodies_with_odata_annotations_are_accepted_as_graph_accepts_them(api):
    created = api.post(
        "/users",
        {
            "@odata.type": "#microsoft.graph.user",
            "displayName": "Ada",
            "userPrincipalName": "ada@contoso.com",
            "businessPhones@odata.type": "#Collection(String)",
            "passwordProfile": {"password": "x", "forceChangePasswordNextSignIn": False},
        },
    )
    assert created.status_code == 201, created.content
    ada = created.json()["id"]
    patched = api.patch(f"/users/{ada}", {"@odata.type": "#microsoft.graph.user", "jobTitle": "Engineer"})
    assert patched.status_code == 204, patched.content
    assert api.get(f"/users/{ada}").json()["jobTitle"] == "Engineer"
    group = api.post(
        "/groups", {"@odata.type": "#microsoft.graph.group", "displayName": "Sales", "mailNickname": "sales"}
    )
    assert group.status_code == 201, group.content

    sp, role = app_with_user_role(api, "Annotated")
    assigned = api.post(
        f"/servicePrincipals/{sp}/appRoleAssignedTo",
        {
            "@odata.type": "#microsoft.graph.appRoleAssignment",
            "principalId": ada,
            "resourceId": sp,
            "appRoleId": role,
        },
    )
    assert assigned.status_code == 201, assigned.content


def test_unknown_properties_and_wrong_types_are_refused_in_graphs_words(api):
    error = assert_graph_error(
        api.post("/users", {"displayName": "Ada", "userPrincipalName": "ada@contoso.com", "nickname": "A"}),
        400,
        "nickname",
    )
    assert error["message"] == UNKNOWN
    error = assert_graph_error(
        api.post(
            "/users",
            {
                "@odata.type": "#microsoft.graph.group",
                "displayName": "Ada",
                "userPrincipalName": "ada@contoso.com",
            },
        ),
        400,
        "@odata.type",
    )
    assert "'microsoft.graph.group'" in error["message"] and "'microsoft.graph.user'" in error["message"]
    app = instantiate("scim-generic", "Nested")
    error = assert_graph_error(
        api.put(
            f"/servicePrincipals/{app.service_principal_id}/synchronization/secrets",
            {"value": [{"key": "BaseAddress", "value": "https://x.example", "colour": "red"}]},
        ),
        400,
        "value[0].colour",
    )
    assert "'microsoft.graph.synchronizationSecretKeyStringValuePair'" in error["message"]
    assert not DirectoryUser.objects.exists()  # nothing half-written


# --- 2. the schema: PATCH, Graph's metadata keys only, round trip ---------------------------------------------


@pytest.fixture
def job(api):
    created = api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": "Contoso"}).json()
    base = f"/servicePrincipals/{created['servicePrincipal']['id']}/synchronization"
    job = api.post(f"{base}/jobs", {"templateId": "scimgeneric"}).json()
    return {"base": base, "id": job["id"], "url": f"{base}/jobs/{job['id']}"}


def as_the_sdk_sends_it(schema: dict) -> dict:
    """What msgraph-beta-sdk writes back after reading ``schema``: values its enums don't know (Graph's
    ``flowTypes: "Add, Update, Delete"``, a metadata key) are dropped or null, annotations are added."""
    body = copy.deepcopy(schema)
    body["@odata.type"] = "#microsoft.graph.synchronizationSchema"
    for rule in body["synchronizationRules"]:
        for mapping in rule["objectMappings"]:
            mapping.pop("flowTypes", None)
            mapping["metadata"] = [{"key": None, "value": "something"}]
    return body


def test_schema_has_only_graphs_metadata_and_a_patch_of_what_was_read_changes_nothing(api, job):
    url = f"{job['url']}/schema"
    schema = api.get(url).json()
    assert "portal." not in json.dumps(schema)
    for mapping in schema["synchronizationRules"][0]["objectMappings"]:
        assert mapping["metadata"] == []
    ProvisioningJob.objects.filter(job_id=job["id"]).update(needs_full_sync=False)

    for method in (api.patch, api.put):
        assert method(url, as_the_sdk_sends_it(schema)).status_code == 204, api.seen[-1].content
        assert api.get(url).json()["version"] == schema["version"]
    assert not ProvisioningJob.objects.get(job_id=job["id"]).needs_full_sync  # nothing changed
    mapping = ProvisioningJob.objects.get(job_id=job["id"]).object_mappings.get(source_object="User")
    assert mapping.actions == ["Create", "Update", "Delete"]  # kept though the SDK dropped flowTypes


def test_schema_patch_applies_a_change(api, job):
    url = f"{job['url']}/schema"
    schema = api.get(url).json()
    groups = next(
        m for m in schema["synchronizationRules"][0]["objectMappings"] if m["sourceObjectName"] == "Group"
    )
    groups["enabled"] = False
    groups["flowTypes"] = "Add, Update"
    assert api.patch(url, schema).status_code == 204, api.seen[-1].content
    stored = ProvisioningJob.objects.get(job_id=job["id"]).object_mappings.get(source_object="Group")
    assert (stored.enabled, stored.actions) == (False, ["Create", "Update"])
    assert api.get(url).json()["version"] != schema["version"]


# --- 3. $count -------------------------------------------------------------------------------------------


def test_count_as_graph_answers_it(api):
    for name in ("Ada", "Grace", "Linus"):
        new_user(api, name)
    new_group(api, "Sales")

    counted = api.get("/users?$count=true&$top=1", headers=EVENTUAL).json()
    assert counted["@odata.count"] == 3 and len(counted["value"]) == 1
    filtered = api.get("/users?$count=true&$filter=startswith(displayName, 'G')", headers=EVENTUAL).json()
    assert filtered["@odata.count"] == 1
    assert api.get("/groups?$count=true", headers=EVENTUAL).json()["@odata.count"] == 1
    # Without the header Graph ignores $count=true: no count, no error.
    assert "@odata.count" not in api.get("/users?$count=true").json()

    text = api.get("/users/$count", headers=EVENTUAL)
    assert text.status_code == 200 and text["Content-Type"].startswith("text/plain")
    assert text.content == b"3"
    assert api.get("/users/$count?$filter=displayName eq 'Ada'", headers=EVENTUAL).content == b"1"
    assert api.get("/groups/$count", headers=EVENTUAL).content == b"1"
    for path in ("/users/$count", "/groups/$count"):
        error = assert_graph_error(api.get(path), 400)
        assert (error["code"], error["message"]) == (
            "Request_BadRequest",
            "$count is not currently supported.",
        )
    assert_graph_error(api.get("/users?$count=maybe", headers=EVENTUAL), 400, "$count")


# --- 4. $orderby -----------------------------------------------------------------------------------------


def test_orderby_where_graph_sorts_and_pages_in_that_order(api):
    names = ["Mallory", "ada", "Zed", "Bob", "carol"]
    for name in names:
        new_user(api, name)
    seen = []
    url = "/users?$orderby=displayName&$top=2&$select=displayName"
    while url:
        body = api.get(url).json()
        seen += [u["displayName"] for u in body["value"]]
        url = body.get("@odata.nextLink", "").replace("http://testserver", "")
    assert seen == sorted(names, key=str.lower)
    desc = api.get("/users?$orderby=userPrincipalName desc").json()["value"]
    assert [u["displayName"] for u in desc] == sorted(names, key=str.lower, reverse=True)
    for name in ("Sales", "Engineering"):
        new_group(api, name)
    assert [g["displayName"] for g in api.get("/groups?$orderby=displayName").json()["value"]] == [
        "Engineering",
        "Sales",
    ]
    advanced = api.get(
        "/users?$orderby=createdDateTime desc&$count=true&$filter=startswith(displayName, 'Z')",
        headers=EVENTUAL,
    ).json()
    assert [u["displayName"] for u in advanced["value"]] == ["Zed"]
    for name in ("Zulu app", "alpha app"):
        instantiate("scim-generic", name)
    sps = api.get("/servicePrincipals?$orderby=displayName desc&$count=true", headers=EVENTUAL).json()
    assert ([sp["displayName"] for sp in sps["value"]], sps["@odata.count"]) == (["Zulu app", "alpha app"], 2)
    pages, url = [], "/users?$orderby=createdDateTime desc&$count=true&$top=2"
    while url:
        body = api.get(url, headers=EVENTUAL).json()
        pages.append([u["displayName"] for u in body["value"]])
        url = body.get("@odata.nextLink", "").replace("http://testserver", "")
    assert [len(p) for p in pages] == [2, 2, 1] and sorted(n for page in pages for n in page) == sorted(names)


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/users?$orderby=mail", EVENTUAL),  # Graph does not sort users on mail
        ("/users?$orderby=createdDateTime", {}),  # only in an advanced query
        ("/users?$orderby=displayName&$filter=startswith(displayName, 'A')", {}),  # $filter + $orderby too
        ("/groups?$orderby=description", {}),
        ("/servicePrincipals?$orderby=displayName", {}),  # service principals sort only in advanced queries
        ("/users?$orderby=displayName,userPrincipalName", {}),
        ("/applicationTemplates?$orderby=displayName", {}),  # collections that don't sort refuse it
        ("/auditLogs/provisioning?$orderby=activityDateTime", {}),
    ],
)
def test_orderby_graph_does_not_support_is_refused_not_ignored(api, path, headers):
    error = assert_graph_error(api.get(path, headers=headers), 400, "$orderby")
    assert error["code"] == "Request_UnsupportedQuery"


# --- 5. a member added twice -------------------------------------------------------------------------------


def test_adding_a_member_twice_is_graphs_400(api):
    group, ada = new_group(api, "Sales"), new_user(api, "Ada")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{ada}"}
    assert api.post(f"/groups/{group}/members/$ref", ref).status_code == 204
    error = assert_graph_error(api.post(f"/groups/{group}/members/$ref", ref), 400)
    assert error["message"] == (
        "One or more added object references already exist for the following modified properties: 'members'."
    )


# --- 6. beta's appRoleAssignment date ----------------------------------------------------------------------


def test_app_role_assignment_names_its_date_creation_timestamp(api):
    ada = new_user(api, "Ada")
    sp, role = app_with_user_role(api, "Dated")
    created = api.post(
        f"/servicePrincipals/{sp}/appRoleAssignedTo",
        {"principalId": ada, "resourceId": sp, "appRoleId": role},
    ).json()
    assert "createdDateTime" not in created
    assert dt.datetime.fromisoformat(created["creationTimestamp"].replace("Z", "+00:00"))
    listed = api.get(
        f"/servicePrincipals/{sp}/appRoleAssignedTo?$filter=creationTimestamp ge 2000-01-01T00:00:00Z"
    )
    assert [a["creationTimestamp"] for a in listed.json()["value"]] == [created["creationTimestamp"]]
    selected = api.get(f"/servicePrincipals/{sp}/appRoleAssignedTo?$select=creationTimestamp").json()["value"]
    assert selected == [{"creationTimestamp": created["creationTimestamp"]}]


# --- 7. @odata.context, GUID ids, statusInfo types ------------------------------------------------------------


def test_synchronization_reads_carry_odata_context(api, job):
    metadata = "http://testserver/api/beta/$metadata#"
    sp = job["base"].split("/")[2]
    sync = f"servicePrincipals('{sp}')/synchronization"
    assert api.get(f"{job['base']}/templates").json()["@odata.context"] == f"{metadata}{sync}/templates"
    assert api.get(f"{job['base']}/jobs").json()["@odata.context"] == f"{metadata}{sync}/jobs"
    assert api.get(job["url"]).json()["@odata.context"] == f"{metadata}{sync}/jobs/$entity"
    assert (
        api.get(f"{job['url']}/schema").json()["@odata.context"]
        == f"{metadata}{sync}/jobs('{job['id']}')/schema/$entity"
    )
    ada = new_user(api, "Ada")
    assert api.get(f"/users/{ada}").json()["@odata.context"] == f"{metadata}users/$entity"


def test_template_ids_are_guids_and_the_gallery_id_still_works(api):
    [template] = api.get("/applicationTemplates?$filter=displayName eq 'Zoom'").json()["value"]
    assert uuid.UUID(template["id"])
    assert api.get(f"/applicationTemplates/{template['id']}").json()["displayName"] == "Zoom"
    assert api.get("/applicationTemplates/zoom").json()["id"] == template["id"]
    created = api.post(
        f"/applicationTemplates/{template['id']}/instantiate", {"displayName": "Zoom A"}
    ).json()
    assert created["servicePrincipal"]["applicationTemplateId"] == template["id"]
    assert created["application"]["applicationTemplateId"] == template["id"]
    found = api.get(f"/servicePrincipals?$filter=applicationTemplateId eq '{template['id']}'").json()["value"]
    assert [sp["displayName"] for sp in found] == ["Zoom A"]


@pytest.fixture
def log_rows():
    app = instantiate("scim-generic", "Logged")
    cycle = uuid.uuid4()
    common = {"job": app.provisioning, "cycle_id": cycle, "action": "Create", "object_kind": "User"}
    ok = ProvisioningLog.objects.create(status="success", source_name="Ada", **common)
    failed = ProvisioningLog.objects.create(
        status="failure", source_name="Grace", error_code="EntryConflict", error_reason="HTTP 409", **common
    )
    return ok, failed


def test_log_ids_are_guids_and_status_info_has_graphs_type(api, log_rows):
    _, failed = log_rows
    entries = {
        e["sourceIdentity"]["displayName"]: e for e in api.get("/auditLogs/provisioning").json()["value"]
    }
    assert uuid.UUID(entries["Ada"]["id"]).version == 4
    assert entries["Ada"]["id"] != entries["Grace"]["id"]
    assert entries["Ada"]["statusInfo"] == {"@odata.type": "#microsoft.graph.statusBase", "status": "success"}
    failure = entries["Grace"]["statusInfo"]
    assert failure["@odata.type"] == "#microsoft.graph.statusDetails"
    assert (failure["status"], failure["errorCode"], failure["reason"]) == (
        "failure",
        "EntryConflict",
        "HTTP 409",
    )

    one = api.get(f"/auditLogs/provisioning/{entries['Grace']['id']}").json()
    assert one["id"] == entries["Grace"]["id"]
    assert one["@odata.context"] == "http://testserver/api/beta/$metadata#auditLogs/provisioning/$entity"
    by_filter = api.get(f"/auditLogs/provisioning?$filter=id eq '{entries['Ada']['id']}'").json()["value"]
    assert [e["sourceIdentity"]["displayName"] for e in by_filter] == ["Ada"]
    # The id this API used to show (the row's key as a GUID) still opens the record.
    old = api.get(f"/auditLogs/provisioning/{uuid.UUID(int=failed.pk)}").json()
    assert old["id"] == entries["Grace"]["id"]


def test_schema_patch_of_one_property_keeps_the_rest(api, job):
    url = f"{job['url']}/schema"
    stored = ProvisioningJob.objects.get(job_id=job["id"]).object_mappings.get(source_object="Group")
    body = {"synchronizationRules": [{"objectMappings": [{"sourceObjectName": "Group", "enabled": False}]}]}
    assert api.patch(url, body).status_code == 204, api.seen[-1].content
    after = ProvisioningJob.objects.get(job_id=job["id"]).object_mappings.get(source_object="Group")
    assert after.enabled is False
    assert (after.actions, after.attribute_mappings, after.target_attributes) == (
        stored.actions,
        stored.attribute_mappings,
        stored.target_attributes,
    )
