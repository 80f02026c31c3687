"""The audit log records directory edits, CSV imports, quarantine start and end and API tokens, and
shows modified properties with Entra-style names and readable values (issue 19, defect 6)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal.audit import Activity, record_audit
from portal.models import AuditEntry
from provisioning.models import JobState
from provisioning.sync import quarantine
from tests.fixtures.logs import new_job

pytestmark = pytest.mark.django_db


def audit_page(client, **params) -> str:
    return client.get(reverse("audit_log"), params).content.decode()


def test_directory_edits_are_in_the_audit_log(signed_in_client, make_user, make_group):
    user = make_user("Adele Vance", user_principal_name="adele@contoso.example")
    group = make_group("Sales")
    signed_in_client.post(
        reverse("directory:user_edit", args=[user.object_id]),
        {"display_name": "Adele V.", "user_principal_name": "adele@contoso.example", "account_enabled": "on"},
    )
    signed_in_client.post(
        reverse("directory:member_add", args=[group.object_id]),
        {"kind": "user", "member": str(user.object_id)},
    )
    signed_in_client.post(reverse("directory:user_disable", args=[user.object_id]))
    signed_in_client.post(reverse("directory:user_delete", args=[user.object_id]))
    activities = set(AuditEntry.objects.values_list("activity", flat=True))
    assert {Activity.UPDATE_USER, Activity.ADD_MEMBER, Activity.DELETE_USER} <= activities
    page = audit_page(signed_in_client)
    assert "<strong>DisplayName</strong>: Adele Vance → Adele V." in page
    assert "<strong>AccountEnabled</strong>: Yes → No" in page
    assert "display_name" not in page and "account_enabled" not in page


def test_a_csv_import_is_in_the_audit_log(signed_in_client):
    text = "userPrincipalName,displayName\nnew@contoso.example,New Person\n"
    upload = signed_in_client.post(
        reverse("directory:user_import"),
        {"file": SimpleUploadedFile("people.csv", text.encode(), "text/csv")},
    )
    import_id = upload["Location"].rstrip("/").split("/")[-1]
    signed_in_client.post(reverse("directory:import_confirm", args=[import_id]))
    entry = AuditEntry.objects.get(activity=Activity.BULK_IMPORT)
    assert entry.target_name == "people.csv" and entry.category == "UserManagement"
    assert "<strong>ToCreate</strong>: (empty) → 1" in audit_page(signed_in_client).replace(
        '<span class="muted">(empty)</span>', "(empty)"
    )


def test_quarantine_start_and_end_are_in_the_audit_log(signed_in_client):
    job = new_job("Contoso SCIM")
    quarantine.enter(job, "EncounteredQuarantineException", "HTTP 401 from the target")
    quarantine.enter(job, "EncounteredQuarantineException", "HTTP 401 again")  # still the same quarantine
    job.refresh_from_db()
    assert job.state == JobState.QUARANTINE
    quarantine.leave(job)
    entries = list(
        AuditEntry.objects.filter(category="ProvisioningManagement")
        .order_by("at")
        .values_list("activity", "actor_name")
    )
    assert entries == [
        (Activity.QUARANTINE, "Provisioning service"),
        (Activity.RELEASE_QUARANTINE, "Provisioning service"),
    ]
    page = audit_page(signed_in_client, app=job.application_id)
    assert "EncounteredQuarantineException" in page and "Release provisioning job from quarantine" in page


def test_api_token_changes_are_in_the_audit_log(signed_in_client):
    signed_in_client.post(reverse("api_tokens:list"), {"name": "nightly script", "days": "30"})
    page = audit_page(signed_in_client)
    assert "Create API token" in page and "<strong>Name</strong>: " in page
    assert "<strong>ExpiresAt</strong>" in page
    assert not re.search(r"\d{2}:\d{2}:\d{2}\.\d+", page)  # no microseconds anywhere


def test_modified_properties_show_readable_values_not_python_reprs(signed_in_client, admin_user):
    job = new_job("Contoso SCIM")
    record_audit(
        admin_user,
        Activity.UPDATE_MAPPINGS,
        target_type="Application",
        target_id=job.application.app_id,
        target_name="Contoso SCIM",
        changes=[
            ("tenant_url", "", "https://scim.example.com/v2"),
            ("notify_on_failure", False, True),
            ("attribute_mappings", [{"title": "Jane Doe", "target": "displayName"}], []),
        ],
    )
    page = audit_page(signed_in_client)
    assert "<strong>TenantURL</strong>" in page and "<strong>NotifyOnFailure</strong>: No → Yes" in page
    assert "Title: Jane Doe, Target: displayName" in page
    table = page.split('id="audit-entries"', 1)[1]
    assert "[{" not in table and "&#x27;title&#x27;" not in table and "tenant_url" not in table
