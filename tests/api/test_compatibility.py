"""Compatibility switches and the not-yet-supported Slack template through the API."""

import pytest

from provisioning.models import ProvisioningJob
from tests.fixtures.api_client import assert_graph_error
from tests.fixtures.configuration_form import mark_tested

pytestmark = pytest.mark.django_db


def settings_of(api, app) -> dict[str, str]:
    body = api.get(app["jobs"]).json()
    return {s["name"]: s["value"] for s in body["synchronizationJobSettings"]}


def test_api_reads_and_writes_each_switch(api, sync_app):
    assert settings_of(api, sync_app)["memberRemoval"] == "pathFilter"
    response = api.put(
        f"{sync_app['base']}/secrets",
        {
            "value": [
                {"key": "BooleanForm", "value": "string"},
                {"key": "patchOpCase", "value": "capitalized"},
            ]
        },
    )
    assert response.status_code == 204, response.content
    shown = settings_of(api, sync_app)
    assert (shown["booleanForm"], shown["patchOpCase"], shown["memberRemoval"]) == (
        "string",
        "capitalized",
        "pathFilter",
    )
    api.put(f"{sync_app['base']}/secrets", {"value": [{"key": "patchOpCase", "value": "lower"}]})
    job = ProvisioningJob.objects.get(job_id=sync_app["job"])
    assert job.compatibility == {"booleanForm": "string"}  # the other switch kept its value


def test_api_refuses_a_bad_switch_value_naming_it(api, sync_app):
    response = api.put(f"{sync_app['base']}/secrets", {"value": [{"key": "memberRemoval", "value": "all"}]})
    error = assert_graph_error(response, 400, "value[0].value")
    assert "pathFilter" in error["message"] and "valueList" in error["message"]


def test_api_cant_start_slack(api):
    created = api.post("/applicationTemplates/slack/instantiate", {"displayName": "Slack"}).json()
    sp = created["servicePrincipal"]["id"]
    base = f"/servicePrincipals/{sp}/synchronization"
    job = api.post(f"{base}/jobs", {"templateId": "slack"}).json()
    mark_tested(ProvisioningJob.objects.get(job_id=job["id"]))
    error = assert_graph_error(api.post(f"{base}/jobs/{job['id']}/start"), 409)
    assert "not supported yet" in error["message"] and "SCIM 1.1" in error["message"]
    assert not ProvisioningJob.objects.get(job_id=job["id"]).enabled
