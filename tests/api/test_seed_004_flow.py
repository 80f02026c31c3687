"""Seed 004 end to end over HTTP: the Graph automation flow against a real SCIM target and worker.

list templates → instantiate → synchronization templates → create job → validate credentials → save
secrets → create users and a group, assign them → start → poll the job to steady state → read the
provisioning logs — and the target holds exactly the assigned users and the group.
"""

from __future__ import annotations

import time

import pytest

from tests.fixtures.api_client import ApiClient

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

NEVER = "0001-01-01T00:00:00Z"


def wait_for_steady_state(api: ApiClient, job_url: str, timeout: float = 60) -> dict:
    """Poll the job like a script would, until a cycle has completed with nothing in flight."""
    deadline = time.monotonic() + timeout
    job: dict = {}
    while time.monotonic() < deadline:
        response = api.get(job_url)
        assert response.status_code == 200, response.content
        job = response.json()
        status = job["status"]
        if (
            status["lastSuccessfulExecution"]
            and not status["progress"]
            and status["steadyStateLastAchievedTime"] != NEVER
        ):
            return job
        assert status["code"] != "Quarantine", status
        time.sleep(0.2)
    raise AssertionError(f"no steady state within {timeout} s: {job}")


def test_seed_004_flow(client, admin_token, scim_server, celery_worker):
    api = ApiClient(client, admin_token)

    # Step 1: find the gallery template and create the application.
    found = api.get("/applicationTemplates?$filter=displayName eq 'SCIM 2.0 application (non-gallery)'")
    assert found.status_code == 200
    [template] = found.json()["value"]
    assert template["supportedProvisioningTypes"] == ["sync"]
    created = api.post(f"/applicationTemplates/{template['id']}/instantiate", {"displayName": "Contoso SCIM"})
    assert created.status_code == 201
    sp = created.json()["servicePrincipal"]
    assert created.json()["application"]["appId"] == sp["appId"]
    base = f"/servicePrincipals/{sp['id']}/synchronization"

    # Step 2: the connector template, then the job from it.
    [sync_template] = api.get(f"{base}/templates").json()["value"]
    assert sync_template["schema"]["synchronizationRules"][0]["objectMappings"]
    job = api.post(f"{base}/jobs", {"templateId": sync_template["id"]})
    assert job.status_code == 201
    job_id = job.json()["id"]
    assert job.json()["status"]["code"] == "NotConfigured"
    assert job.json()["schedule"]["state"] == "Disabled"

    # Step 3: test the connection, then save the credentials.
    credentials = [
        {"key": "BaseAddress", "value": scim_server.base_url},
        {"key": "SecretToken", "value": scim_server.token},
    ]
    validated = api.post(f"{base}/jobs/{job_id}/validateCredentials", {"credentials": credentials})
    assert validated.status_code == 204, validated.content
    saved = api.put(
        f"{base}/secrets", {"value": [*credentials, {"key": "NotificationEmail", "value": "ops@contoso.com"}]}
    )
    assert saved.status_code == 204, saved.content

    # The directory and the assignments, through the API too.
    users = {}
    for name in ("ada", "grace", "linus", "outsider"):
        response = api.post(
            "/users",
            {
                "displayName": name.title(),
                "userPrincipalName": f"{name}@contoso.com",
                "givenName": name.title(),
                "surname": "Test",
                "mail": f"{name}@contoso.com",
                "mailNickname": name,
                "accountEnabled": True,
                "passwordProfile": {"password": "ignored"},
            },
        )
        assert response.status_code == 201, response.content
        users[name] = response.json()["id"]
    group = api.post(
        "/groups", {"displayName": "Engineering", "mailNickname": "engineering", "securityEnabled": True}
    )
    assert group.status_code == 201
    group_id = group.json()["id"]
    for name in ("grace", "linus"):
        added = api.post(
            f"/groups/{group_id}/members/$ref",
            {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{users[name]}"},
        )
        assert added.status_code == 204
    role = next(
        r["id"]
        for r in api.get(f"/servicePrincipals/{sp['id']}").json()["appRoles"]
        if r["displayName"] == "User"
    )
    for principal in (users["ada"], group_id):
        assigned = api.post(
            f"/servicePrincipals/{sp['id']}/appRoleAssignedTo",
            {"principalId": principal, "resourceId": sp["id"], "appRoleId": role},
        )
        assert assigned.status_code == 201, assigned.content

    # Step 4: start.
    assert api.post(f"{base}/jobs/{job_id}/start").status_code == 204

    # Step 5: monitor: the job (Graph's sample URL has a trailing slash), then the provisioning logs.
    job = wait_for_steady_state(api, f"{base}/jobs/{job_id}/")
    assert job["status"]["code"] == "Active"
    assert job["schedule"]["state"] == "Active"
    counts = {item["key"]: item["value"] for item in job["status"]["synchronizedEntryCountByType"]}
    assert counts == {"User": 3, "Group": 1}
    assert job["status"]["lastSuccessfulExecution"]["countExported"] == 4

    logs = api.get(f"/auditLogs/provisioning?$filter=jobId eq '{job_id}' and provisioningAction eq 'create'")
    assert logs.status_code == 200
    entries = logs.json()["value"]
    assert {e["sourceIdentity"]["displayName"] for e in entries} == {"Ada", "Grace", "Linus", "Engineering"}
    entry = next(e for e in entries if e["sourceIdentity"]["displayName"] == "Ada")
    assert entry["statusInfo"]["status"] == "success"
    assert entry["servicePrincipal"]["id"] == sp["id"]
    assert entry["targetSystem"]["details"]["ServicePrincipalId"] == sp["id"]
    assert entry["initiatedBy"]["initiatorType"] == "system"
    assert any(step["provisioningStepType"] == "export" for step in entry["provisioningSteps"])
    assert any(p["displayName"] == "userName" for p in entry["modifiedProperties"])

    # The target holds the assigned users (directly or through the group) and the group, nobody else.
    assert sorted(u["userName"] for u in scim_server.users()) == [
        "ada@contoso.com",
        "grace@contoso.com",
        "linus@contoso.com",
    ]
    assert [g["displayName"] for g in scim_server.groups()] == ["Engineering"]

    # No secret in any response of the flow.
    for response in api.seen:
        assert scim_server.token.encode() not in response.content
