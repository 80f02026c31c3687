"""Entra's "Review your schema" page: view, download, upload validated before it is saved."""

from __future__ import annotations

import copy
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.models import AuditEntry
from tests.fixtures.logs import new_job

pytestmark = pytest.mark.django_db


@pytest.fixture
def job():
    return new_job("Contoso SCIM")


def url(job) -> str:
    return reverse("provisioning:schema", args=[job.application.service_principal_id])


def upload(client, job, document, name="schema.json"):
    data = document if isinstance(document, bytes) else json.dumps(document).encode()
    return client.post(url(job), {"file": SimpleUploadedFile(name, data, "application/json")})


def user_mapping(document):
    return next(
        m for m in document["synchronizationRules"][0]["objectMappings"] if m["sourceObjectName"] == "User"
    )


def test_the_schema_is_shown_in_the_app_menu_and_downloads_as_json(signed_in_client, job):
    page = signed_in_client.get(url(job)).content.decode()
    assert 'data-testid="schema-json"' in page and "synchronizationRules" in page
    assert ">Review schema</span>" in page  # in the blade's Provisioning group
    download = signed_in_client.get(url(job), {"download": 1})
    assert download["Content-Disposition"].startswith("attachment;")
    assert user_mapping(json.loads(download.content))["targetObjectName"]


def test_an_edited_schema_is_saved_and_audited(signed_in_client, job):
    document = json.loads(signed_in_client.get(url(job), {"download": 1}).content)
    edited = copy.deepcopy(document)
    user_mapping(edited)["flowTypes"] = "Add, Update"
    response = upload(signed_in_client, job, edited)
    assert response.status_code == 302
    assert job.object_mappings.get(key="users").actions == ["Create", "Update"]
    assert AuditEntry.objects.filter(activity="Update attribute mappings or scope").exists()


def test_a_bad_schema_is_refused_with_reasons_and_nothing_is_saved(signed_in_client, job):
    before = list(job.object_mappings.values_list("attribute_mappings", flat=True))
    document = json.loads(signed_in_client.get(url(job), {"download": 1}).content)
    broken = copy.deepcopy(document)
    attribute = user_mapping(broken)["attributeMappings"][0]
    attribute["source"] = {"type": "Function", "expression": 'Join(" - ", [department]'}
    response = upload(signed_in_client, job, broken)
    assert response.status_code == 400
    assert 'data-testid="schema-problems"' in response.content.decode()
    assert "Nothing was saved" in response.content.decode()
    assert list(job.object_mappings.values_list("attribute_mappings", flat=True)) == before

    not_json = upload(signed_in_client, job, b"{not json")
    assert not_json.status_code == 400 and "not valid JSON" in not_json.content.decode()
    wrong_shape = upload(signed_in_client, job, {"synchronizationRules": "nope"})
    assert wrong_shape.status_code == 400 and "synchronizationRules" in wrong_shape.content.decode()
