"""One log row reads the same through the API, the JSON download, the CSV steps file and the detail panel."""

from __future__ import annotations

import csv
import io
import json
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from portal.applications.services import instantiate
from provisioning.models import ProvisioningLog

pytestmark = pytest.mark.django_db

STEPS = [
    {"name": "Import", "status": "success", "description": "Received User 'Lee Gu' change", "details": {}},
    {"name": "Scoping", "status": "success", "description": "In scope", "details": {}},
    {"name": "Matching", "status": "success", "description": "No match on userName", "details": {}},
    {"name": "Export", "status": "failure", "description": "Create failed", "details": {"http_status": 409}},
]


@pytest.fixture
def log_row() -> ProvisioningLog:
    job = instantiate("taskize-connect", "Agreement app").provisioning
    return ProvisioningLog.objects.create(
        job=job,
        activity_at=timezone.now(),
        cycle_id=uuid.uuid4(),
        action="Create",
        status="failure",
        object_kind="User",
        source_id=str(uuid.uuid4()),
        source_name="Lee Gu",
        target_name="lee.gu@contoso.com",
        steps=STEPS,
        modified_properties=[{"name": "emails", "old": None, "new": ["lee@contoso.com", "gu@contoso.com"]}],
        error_code="EntryConflict",
        error_reason="HTTP 409 from the application",
    )


def test_api_and_downloads_give_one_log_row_the_same_id_and_steps(api, signed_in_client, log_row):
    from_api = api.get(f"/auditLogs/provisioning/{log_row.log_id}").json()
    from_api.pop("@odata.context")
    download = reverse("provisioning:log_download", args=["json"])
    response = signed_in_client.get(download, {"change": str(log_row.change_id)})
    [exported] = json.loads(b"".join(response.streaming_content))
    assert exported == from_api
    assert exported["id"] == str(log_row.log_id)
    assert [s["name"] for s in exported["provisioningSteps"]] == [
        "EntryImport",
        "EntrySynchronizationScoping",
        "EntrySynchronizationAdd",
        "EntryExportAdd",
    ]

    response = signed_in_client.get(
        reverse("provisioning:log_download", args=["csv"]),
        {"change": str(log_row.change_id), "part": "steps"},
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [(r["Name"], r["Step type"], r["Status"]) for r in rows] == [
        (s["name"], s["provisioningStepType"], s["status"]) for s in from_api["provisioningSteps"]
    ]
    detail = signed_in_client.get(reverse("provisioning:log_detail", args=[log_row.pk])).content.decode()
    # The panel is read by people: each of the record's steps, in order, under its own (translatable) name.
    shown = [detail.index(f"{s['name']}</strong>") for s in STEPS]
    assert shown == sorted(shown) and len(STEPS) == len(from_api["provisioningSteps"])
    assert all(escape(s["description"]) in detail for s in STEPS)
