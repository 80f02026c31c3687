"""The synchronization job through the API: secrets, credentials, control, schema — against a real target."""

from __future__ import annotations

import copy
import json

import pytest

from portal.models import AuditEntry
from provisioning.models import Cycle, CycleStatus, EscrowEntry, JobState, ProvisioningJob, ProvisioningLog
from provisioning.sync import control
from tests.fixtures.api_client import ApiClient, assert_graph_error

pytestmark = pytest.mark.django_db


def credentials(scim_server, token=None):
    return [
        {"key": "BaseAddress", "value": scim_server.base_url},
        {"key": "SecretToken", "value": token or scim_server.token},
    ]


def db_job(sync_app) -> ProvisioningJob:
    return ProvisioningJob.objects.get(job_id=sync_app["job"])


def test_job_shape_and_create_rules(api, sync_app):
    listed = api.get(f"{sync_app['base']}/jobs").json()["value"]
    assert [j["id"] for j in listed] == [sync_app["job"]]
    job = listed[0]
    assert job["templateId"] == "scimgeneric"
    assert job["schedule"] == {"expiration": None, "interval": "PT40M", "state": "Disabled"}
    assert job["status"]["code"] == "NotConfigured"
    assert {"name": "QuarantineTooManyDeletesThreshold", "value": "500"} in job["synchronizationJobSettings"]
    assert (
        api.post(f"{sync_app['base']}/jobs", {"templateId": "scim-generic"}).status_code == 201
    )  # still NotConfigured
    assert_graph_error(api.post(f"{sync_app['base']}/jobs", {"templateId": "aws"}), 400, "templateId")
    assert_graph_error(api.get(f"{sync_app['base']}/jobs/someoneelses.job"), 404, "jobId")


def test_secrets_are_saved_never_returned_and_audited_redacted(api, sync_app, scim_server):
    response = api.put(
        f"{sync_app['base']}/secrets",
        {
            "value": [
                *credentials(scim_server),
                {"key": "NotificationEmail", "value": "ops@contoso.com"},
                {"key": "SyncAll", "value": "True"},
                {"key": "SkipOutOfScopeDeletions", "value": "true"},
                {
                    "key": "SyncNotificationSettings",
                    "value": '{"Enabled": true, "DeleteThresholdEnabled": true, "DeleteThresholdValue": 25}',
                },
            ]
        },
    )
    assert response.status_code == 204, response.content
    job = db_job(sync_app)
    assert (job.tenant_url, job.secret_token) == (scim_server.base_url, scim_server.token)
    assert (job.scope, job.skip_out_of_scope_deletions, job.notify_on_failure) == ("all", True, True)
    assert (job.prevent_accidental_deletion, job.deletion_threshold, job.state) == (
        True,
        25,
        JobState.NOT_RUN,
    )
    assert job.needs_full_sync
    for path in (
        sync_app["jobs"],
        f"{sync_app['jobs']}/schema",
        f"/servicePrincipals/{sync_app['sp']}",
        f"{sync_app['base']}/templates",
    ):
        assert scim_server.token not in api.get(path).content.decode()
    entry = AuditEntry.objects.filter(activity="Update provisioning setting or credentials").latest("at")
    assert scim_server.token not in str(entry.changes)
    assert_graph_error(api.get(f"{sync_app['base']}/secrets"), 405)


@pytest.mark.parametrize(
    ("pairs", "target"),
    [
        ([{"key": "BaseAddress", "value": "ftp://example.com"}], "value[0].value"),
        ([{"key": "Password", "value": "x"}], "value[0].key"),
        ([{"key": "SyncAll", "value": "yes"}], "value[0].value"),
        ([{"key": "QuarantineTooManyDeletesThreshold", "value": "0"}], "value[0].value"),
        ([{"key": "NotificationEmail", "value": "not-an-address"}], "value[0].value"),
        ([{"key": "SyncNotificationSettings", "value": "{oops"}], "value[0].value"),
        ([{"key": "SecretToken", "value": "a"}, {"key": "secrettoken", "value": "b"}], "value[1].key"),
        ([{"key": "SyncNotificationSettings", "value": '{"Enabled": true}'}], "value"),
    ],
)
def test_bad_secrets_are_400_naming_the_key(api, sync_app, pairs, target):
    assert_graph_error(api.put(f"{sync_app['base']}/secrets", {"value": pairs}), 400, target)
    assert db_job(sync_app).tenant_url == ""


def test_validate_credentials_against_the_real_target(api, sync_app, scim_server):
    url = f"{sync_app['jobs']}/validateCredentials"
    assert api.post(url, {"credentials": credentials(scim_server)}).status_code == 204
    job = db_job(sync_app)
    assert job.credentials_tested_at is not None and job.tenant_url == ""  # tested, not saved
    refused = api.post(url, {"credentials": credentials(scim_server, token="wrong-token")})
    error = assert_graph_error(refused, 400, "credentials")
    assert error["code"] == "InvalidCredentials" and "wrong-token" not in refused.content.decode()
    assert_graph_error(api.post(url, {"useSavedCredentials": True}), 400, "credentials")  # nothing saved yet
    api.put(f"{sync_app['base']}/secrets", {"value": credentials(scim_server)})
    assert api.post(url, {"useSavedCredentials": True}).status_code == 204


def test_start_needs_validated_credentials_and_changing_them_untests(api, sync_app, scim_server, settings):
    start = f"{sync_app['jobs']}/start"
    assert_graph_error(api.post(start), 409)  # nothing saved
    api.put(f"{sync_app['base']}/secrets", {"value": credentials(scim_server)})
    assert_graph_error(api.post(start), 409)  # saved, never validated
    api.post(f"{sync_app['jobs']}/validateCredentials", {"useSavedCredentials": True})
    api.put(f"{sync_app['base']}/secrets", {"value": [{"key": "SecretToken", "value": "another-token"}]})
    error = assert_graph_error(api.post(start), 409)
    assert "validateCredentials" in error["message"]
    api.put(f"{sync_app['base']}/secrets", {"value": credentials(scim_server)})  # back to what passed
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert api.post(start).status_code == 204
    job = db_job(sync_app)
    assert job.enabled and api.get(sync_app["jobs"]).json()["schedule"]["state"] == "Active"
    assert api.post(f"{sync_app['jobs']}/pause").status_code == 204
    job.refresh_from_db()
    assert not job.enabled and job.state == JobState.PAUSED
    assert api.get(sync_app["jobs"]).json()["schedule"]["state"] == "Paused"
    assert AuditEntry.objects.filter(activity="Enable/start provisioning configuration").exists()


def test_start_refuses_with_the_message_the_blade_shows(api, sync_app, scim_server):
    api.put(f"{sync_app['base']}/secrets", {"value": credentials(scim_server)})
    error = assert_graph_error(api.post(f"{sync_app['jobs']}/start"), 409)
    assert error["message"].startswith(control.NOT_TESTED)  # the form's and the overview's words
    ProvisioningJob.objects.filter(job_id=sync_app["job"]).update(mode="Manual")
    assert assert_graph_error(api.post(f"{sync_app['jobs']}/start"), 409)["message"] == control.MANUAL
    assert not db_job(sync_app).enabled


def test_start_lifts_a_quarantine(api, sync_app, scim_server):
    api.put(f"{sync_app['base']}/secrets", {"value": credentials(scim_server)})
    api.post(f"{sync_app['jobs']}/validateCredentials", {"useSavedCredentials": True})
    ProvisioningJob.objects.filter(job_id=sync_app["job"]).update(
        state=JobState.QUARANTINE,
        quarantine_reason="EncounteredQuarantineException",
        quarantine_details="401",
    )
    status = api.get(sync_app["jobs"]).json()["status"]
    assert (
        status["code"] == "Quarantine" and status["quarantine"]["reason"] == "EncounteredQuarantineException"
    )
    assert api.post(f"{sync_app['jobs']}/start").status_code == 204
    assert db_job(sync_app).state == JobState.ACTIVE


def test_restart_scopes(api, sync_app):
    job = db_job(sync_app)
    EscrowEntry.objects.create(
        job=job, object_kind="User", source_id="00000000-0000-0000-0000-000000000001", target_id="t1"
    )
    ProvisioningJob.objects.filter(pk=job.pk).update(watermark=42, needs_full_sync=False)
    url = f"{sync_app['jobs']}/restart"
    assert (
        api.post(url, {"criteria": {"resetScope": "Watermark, Escrows, QuarantineState"}}).status_code == 204
    )
    job.refresh_from_db()
    assert (job.watermark, job.needs_full_sync, EscrowEntry.objects.count()) == (0, True, 1)
    assert api.post(url, {"criteria": {"resetScope": "Full"}}).status_code == 204
    assert EscrowEntry.objects.count() == 0
    assert api.post(url).status_code == 204  # no body: the portal's Restart
    assert_graph_error(api.post(url, {"criteria": {"resetScope": "Everything"}}), 400, "criteria.resetScope")
    assert_graph_error(api.post(url, {"criteria": {"resetScope": "None"}}), 409)  # = start, not configured
    assert AuditEntry.objects.filter(activity="Enable/restart provisioning configuration").count() == 3


def test_delete_job_forgets_state_and_changes_the_id(api, sync_app):
    job = db_job(sync_app)
    EscrowEntry.objects.create(
        job=job, object_kind="User", source_id="00000000-0000-0000-0000-000000000001", target_id="t1"
    )
    Cycle.objects.create(job=job, kind="initial", status=CycleStatus.RUNNING)
    assert api.delete(sync_app["jobs"]).status_code == 204
    assert_graph_error(api.get(sync_app["jobs"]), 404)
    [fresh] = api.get(f"{sync_app['base']}/jobs").json()["value"]
    assert fresh["id"] != sync_app["job"] and fresh["status"]["code"] == "NotConfigured"
    assert EscrowEntry.objects.count() == 0 and not Cycle.objects.filter(status=CycleStatus.RUNNING).exists()


def test_schema_round_trip_edit_and_validation(api, sync_app):
    url = f"{sync_app['jobs']}/schema"
    schema = api.get(url).json()
    rule = schema["synchronizationRules"][0]
    users = next(m for m in rule["objectMappings"] if m["sourceObjectName"] == "User")
    assert users["flowTypes"] == "Add, Update, Delete"
    user_name = next(a for a in users["attributeMappings"] if a["targetAttributeName"] == "userName")
    assert user_name["source"] == {
        "type": "Attribute",
        "name": "userPrincipalName",
        "expression": "[userPrincipalName]",
    }
    assert user_name["matchingPriority"] == 1
    assert {d["name"] for d in schema["directories"]} == {"Azure Active Directory", "scimgeneric"}
    ProvisioningJob.objects.filter(job_id=sync_app["job"]).update(needs_full_sync=False)

    assert api.put(url, schema).status_code == 204  # unchanged: nothing to resync
    assert not db_job(sync_app).needs_full_sync

    edited = copy.deepcopy(schema)
    mapping = next(
        m for m in edited["synchronizationRules"][0]["objectMappings"] if m["sourceObjectName"] == "User"
    )
    title = next(a for a in mapping["attributeMappings"] if a["targetAttributeName"] == "title")
    title["source"] = {"type": "Function", "expression": 'Join(" - ", [department], [jobTitle])'}
    mapping["flowTypes"] = "Add, Update"
    mapping["scope"] = {
        "groups": [
            {
                "name": "Sales only",
                "clauses": [
                    {
                        "operatorName": "EQUALS",
                        "sourceOperandName": "department",
                        "targetOperand": {"values": ["Sales"]},
                    }
                ],
            }
        ]
    }
    assert api.put(url, edited).status_code == 204
    job = db_job(sync_app)
    stored = job.object_mappings.get(key="users")
    assert stored.actions == ["Create", "Update"]
    assert stored.scoping_filters == [
        {
            "title": "Sales only",
            "clauses": [{"attribute": "department", "operator": "EQUALS", "value": "Sales"}],
        }
    ]
    assert {
        "target": "title",
        "type": "Expression",
        "expression": 'Join(" - ", [department], [jobTitle])',
        "apply": "Always",
    } in stored.attribute_mappings
    assert job.needs_full_sync
    again = api.get(url).json()
    assert again["version"] != schema["version"]

    broken = copy.deepcopy(edited)
    mapping = broken["synchronizationRules"][0]["objectMappings"][0]
    mapping["attributeMappings"][1]["source"] = {"type": "Function", "expression": "Join(, [x]"}
    mapping["attributeMappings"][0]["matchingPriority"] = 0  # no matching attribute left
    mapping["scope"]["groups"][0]["clauses"][0]["operatorName"] = "SOUNDS_LIKE"
    response = api.put(url, broken)
    error = assert_graph_error(response, 400)
    targets = {d["target"] for d in error["details"]}
    assert "synchronizationRules[0].objectMappings[0].attributeMappings[1].source.expression" in targets
    assert "synchronizationRules[0].objectMappings[0].attributeMappings" in targets
    assert "synchronizationRules[0].objectMappings[0].scope.groups[0].clauses[0]" in targets
    assert db_job(sync_app).object_mappings.get(key="users").actions == ["Create", "Update"]  # nothing saved

    unknown = copy.deepcopy(schema)
    unknown["synchronizationRules"][0]["objectMappings"][0]["metadata"] = []
    unknown["synchronizationRules"][0]["objectMappings"][0]["sourceObjectName"] = "Device"
    assert_graph_error(
        api.put(url, unknown), 400, "synchronizationRules[0].objectMappings[0].sourceObjectName"
    )

    assert api.delete(url).status_code == 204  # back to the gallery's defaults
    assert db_job(sync_app).object_mappings.get(key="users").actions == ["Create", "Update", "Delete"]


def test_schema_can_add_a_target_attribute_and_map_it(api, sync_app):
    url = f"{sync_app['jobs']}/schema"
    schema = api.get(url).json()
    target_dir = next(d for d in schema["directories"] if d["name"] == "scimgeneric")
    user_object = next(
        o
        for o in target_dir["objects"]
        if o["name"] == "urn:ietf:params:scim:schemas:core:2.0:User" or o["name"] == "User"
    )
    user_object["attributes"].append(
        {"name": "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter", "type": "String"}
    )
    mapping = next(
        m for m in schema["synchronizationRules"][0]["objectMappings"] if m["sourceObjectName"] == "User"
    )
    mapping["attributeMappings"].append(
        {
            "targetAttributeName": "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter",
            "source": {"type": "Constant", "name": "CC-1"},
        }
    )
    assert api.put(url, schema).status_code == 204, api.seen[-1].content
    stored = db_job(sync_app).object_mappings.get(key="users")
    assert {
        "target": "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter",
        "type": "Constant",
        "constant": "CC-1",
        "apply": "Always",
    } in stored.attribute_mappings
    assert any(
        a["name"] == "urn:ietf:params:scim:schemas:extension:contoso:2.0:User:costCenter"
        for a in stored.target_attributes
    )


@pytest.mark.parametrize(
    "name",
    ["urn:contoso:custom:costCenter", "urn:scim:schemas:extension:enterprise:1.0.department", "cost centre"],
)
def test_schema_refuses_a_target_attribute_the_connector_could_not_send(api, sync_app, name):
    """The schema API uses the connector's own path grammar: what it accepts, the connector can send."""
    url = f"{sync_app['jobs']}/schema"
    schema = api.get(url).json()
    target_dir = next(d for d in schema["directories"] if d["name"] == "scimgeneric")
    user_object = next(o for o in target_dir["objects"] if o["name"].endswith("User"))
    user_object["attributes"].append({"name": name, "type": "String"})
    response = api.put(url, schema)
    assert response.status_code == 400
    body = response.json()["error"]
    assert "attributes[" in json.dumps(body) and ".name" in json.dumps(body)
    assert name not in [
        a["name"] for a in db_job(sync_app).object_mappings.get(key="users").target_attributes
    ]


def test_provision_on_demand_against_the_real_target(api, sync_app, scim_server):
    api.put(f"{sync_app['base']}/secrets", {"value": credentials(scim_server)})
    user = api.post("/users", {"displayName": "Ada", "userPrincipalName": "ada@contoso.com"}).json()["id"]
    sp = api.get(f"/servicePrincipals/{sync_app['sp']}").json()
    role = next(r["id"] for r in sp["appRoles"] if r["displayName"] == "User")
    api.post(
        f"/servicePrincipals/{sync_app['sp']}/appRoleAssignedTo",
        {"principalId": user, "resourceId": sync_app["sp"], "appRoleId": role},
    )
    url = f"{sync_app['jobs']}/provisionOnDemand"
    body = {
        "parameters": [{"ruleId": "scimgeneric", "subjects": [{"objectId": user, "objectTypeName": "User"}]}]
    }
    response = api.post(url, body)
    assert response.status_code == 200, response.content
    import json

    result = json.loads(response.json()["key"])
    record = json.loads(response.json()["value"])
    assert result["result"] == "Success", result
    assert record["provisioningAction"] == "create" and record["sourceIdentity"]["id"] == user
    assert [u["userName"] for u in scim_server.users()] == ["ada@contoso.com"]
    assert ProvisioningLog.objects.filter(job__job_id=sync_app["job"]).count() == 1
    wrong = {"parameters": [{"subjects": [{"objectId": user, "objectTypeName": "Printer"}]}]}
    assert_graph_error(api.post(url, wrong), 400, "parameters[0].subjects[0].objectTypeName")
    missing = {"parameters": [{"subjects": [{"objectId": sync_app["sp"], "objectTypeName": "User"}]}]}
    assert_graph_error(api.post(url, missing), 404)


def test_other_apps_job_is_not_reachable_through_this_sp(api, sync_app, make_token):
    other = api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": "Other"}).json()
    other_sp = other["servicePrincipal"]["id"]
    assert_graph_error(
        api.get(f"/servicePrincipals/{other_sp}/synchronization/jobs/{sync_app['job']}"), 404, "jobId"
    )
    reader = ApiClient(api.client, make_token(None))
    assert_graph_error(reader.get(sync_app["jobs"]), 403)


def test_provision_on_demand_with_an_unreachable_target_is_a_failure_result(api, sync_app, settings):
    settings.PROVISIONING_RETRY_ATTEMPTS, settings.PROVISIONING_RETRY_BASE_DELAY = 1, 0
    api.put(
        f"{sync_app['base']}/secrets", {"value": [{"key": "BaseAddress", "value": "http://127.0.0.1:9/scim"}]}
    )
    user = api.post("/users", {"displayName": "Ada", "userPrincipalName": "ada@contoso.com"}).json()["id"]
    roles = api.get(f"/servicePrincipals/{sync_app['sp']}").json()["appRoles"]
    role = next(r["id"] for r in roles if r["displayName"] == "User")
    assignment = {"principalId": user, "resourceId": sync_app["sp"], "appRoleId": role}
    api.post(f"/servicePrincipals/{sync_app['sp']}/appRoleAssignedTo", assignment)
    body = {"parameters": [{"subjects": [{"objectId": user, "objectTypeName": "User"}]}]}
    response = api.post(f"{sync_app['jobs']}/provisionOnDemand", body)
    assert response.status_code == 200, response.content
    import json

    result = json.loads(response.json()["key"])
    assert result["result"] == "Failure" and result["details"]["errorCode"], result
