"""Secrets are write-only: encrypted at rest, never in a page, an attribute, an error or an audit entry."""

import json

import pytest
from django.db import connection
from django.urls import reverse

from portal.applications import services
from portal.audit import REDACTED, record_audit, redact
from portal.directory.models import DirectoryGroup, DirectoryUser
from portal.models import AuditEntry
from provisioning.models import ProvisioningJob
from tests.fixtures.configuration_form import page_url

pytestmark = pytest.mark.django_db

TOKEN = "tok-Zq8vN3xW7pLk2Rj5"
CLIENT_SECRET = "cs-Hy4mT9bQ1sVx6Wd0"


@pytest.fixture
def job() -> ProvisioningJob:
    return services.instantiate("taskize-connect", "Taskize Connect").provisioning


def base_data(**overrides: str) -> dict[str, str]:
    data = {
        "mode": "Automatic",
        "auth_method": "bearer",
        "tenant_url": "https://taskize.example/scim/v2",
        "secret_token": "",
        "notification_email": "ops@contoso.test",
        "prevent_accidental_deletion": "on",
        "deletion_threshold": "500",
        "scope": "assigned",
        "interval_minutes": "40",
        "enabled": "off",
    }
    data.update(overrides)
    return data


def _raw_column(job: ProvisioningJob, column: str) -> str:
    table = ProvisioningJob._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table} WHERE id = %s", [job.pk])
        return cursor.fetchone()[0]


def test_the_database_row_holds_no_plaintext_secret(signed_in_client, job):
    signed_in_client.post(page_url(job), base_data(secret_token=TOKEN))
    signed_in_client.post(
        page_url(job),
        base_data(
            auth_method="oauth2_client_credentials",
            oauth_token_url="https://login.example/token",
            oauth_client_id="portal",
            oauth_client_secret=CLIENT_SECRET,
        ),
    )
    job.refresh_from_db()
    assert (job.secret_token, job.oauth_client_secret) == (TOKEN, CLIENT_SECRET)  # the app reads plaintext

    raw_token = _raw_column(job, "secret_token")
    raw_secret = _raw_column(job, "oauth_client_secret")
    assert raw_token.startswith("fernet:") and raw_secret.startswith("fernet:")
    assert TOKEN not in raw_token and CLIENT_SECRET not in raw_secret
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ProvisioningJob._meta.db_table}")
        row_text = json.dumps([list(map(str, r)) for r in cursor.fetchall()])
    assert TOKEN not in row_text and CLIENT_SECRET not in row_text


def test_blank_secret_on_save_keeps_the_stored_one(signed_in_client, job):
    signed_in_client.post(page_url(job), base_data(secret_token=TOKEN))
    signed_in_client.post(page_url(job), base_data(secret_token="", notification_email="new@contoso.test"))
    job.refresh_from_db()
    assert job.secret_token == TOKEN and job.notification_email == "new@contoso.test"


def test_blank_client_secret_on_save_keeps_the_stored_one(signed_in_client, job):
    oauth = {
        "auth_method": "oauth2_client_credentials",
        "oauth_token_url": "https://login.example/token",
        "oauth_client_id": "portal",
    }
    signed_in_client.post(page_url(job), base_data(**oauth, oauth_client_secret=CLIENT_SECRET))
    signed_in_client.post(page_url(job), base_data(**oauth, oauth_client_secret="", oauth_scope="scim.write"))
    job.refresh_from_db()
    assert job.oauth_client_secret == CLIENT_SECRET and job.oauth_scope == "scim.write"


def test_the_token_can_be_removed_explicitly(signed_in_client, job):
    signed_in_client.post(page_url(job), base_data(secret_token=TOKEN))
    html = signed_in_client.get(page_url(job)).content.decode()
    assert "Remove the stored secret token" in html
    signed_in_client.post(page_url(job), base_data(clear_secret_token="on"))
    job.refresh_from_db()
    assert job.secret_token == ""


def test_stored_secrets_are_shown_only_masked_and_inputs_never_carry_them(signed_in_client, job):
    signed_in_client.post(page_url(job), base_data(secret_token=TOKEN))
    html = signed_in_client.get(page_url(job)).content.decode()
    assert 'Stored token: <span class="mono">••••••••</span> set' in html
    assert TOKEN not in html
    token_input = html[html.index('name="secret_token"') - 200 : html.index('name="secret_token"') + 200]
    assert 'type="password"' in token_input and "value=" not in token_input


def test_a_secret_typed_into_a_form_with_errors_is_not_echoed_back(signed_in_client, job):
    html = signed_in_client.post(
        page_url(job),
        base_data(secret_token=TOKEN, oauth_client_secret=CLIENT_SECRET, notification_email="bad"),
    ).content.decode()
    assert "Enter a valid email address" in html
    assert TOKEN not in html and CLIENT_SECRET not in html


def test_secret_changes_are_audited_redacted(signed_in_client, job):
    signed_in_client.post(page_url(job), base_data(secret_token=TOKEN))
    signed_in_client.post(page_url(job), base_data(secret_token=TOKEN + "-v2"))
    entries = list(
        AuditEntry.objects.filter(activity="Update provisioning setting or credentials").order_by("id")
    )
    first = {c["field"]: (c["old"], c["new"]) for c in entries[0].changes}
    second = {c["field"]: (c["old"], c["new"]) for c in entries[1].changes}
    assert first["secret_token"] == ("", REDACTED)
    assert second == {"secret_token": (REDACTED, REDACTED)}


def test_redaction_is_decided_by_the_field_name():
    for name in ("secret_token", "oauth_client_secret", "Secret Token", "password", "access_token", "token"):
        assert redact(name, "x") == REDACTED, name
        assert redact(name, "") == ""
    for name in ("oauth_token_url", "Token endpoint", "tenant_url", "notification_email"):
        assert redact(name, "x") == "x", name


def test_record_audit_redacts_whatever_the_caller_passes(job):
    entry = record_audit(
        None,
        "Update provisioning setting or credentials",
        target_type="Application",
        target_id="x",
        target_name="Taskize",
        changes=[("secret_token", "old-secret", TOKEN), ("client_secret", None, CLIENT_SECRET)],
    )
    entry.refresh_from_db()
    assert TOKEN not in json.dumps(entry.changes) and CLIENT_SECRET not in json.dumps(entry.changes)
    assert entry.actor_name == "Provisioning service"


def test_no_page_of_the_whole_flow_and_no_audit_entry_contains_the_token(signed_in_client, scim_server):
    """Walk the tutorial's steps 3-5 and grep every response and the audit log for the secret."""
    token = scim_server.token
    seen: list[str] = []

    def get(url: str, **extra) -> str:
        response = signed_in_client.get(url, **extra)
        assert response.status_code == 200, url
        seen.append(response.content.decode())
        return seen[-1]

    def post(url: str, data: dict, **extra) -> str:
        response = signed_in_client.post(url, data, follow=True, **extra)
        assert response.status_code == 200, url
        seen.append(response.content.decode())
        return seen[-1]

    get(reverse("applications:gallery"))
    get(
        reverse("applications:gallery"),
        data={"q": "taskize"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="gallery-results",
    )
    post(
        reverse("applications:gallery_create", args=["taskize-connect"]), {"display_name": "Taskize Connect"}
    )
    job = ProvisioningJob.objects.get()
    oid = job.application.service_principal_id
    user = DirectoryUser.objects.create(display_name="Ada Lovelace", user_principal_name="ada@contoso.test")
    group = DirectoryGroup.objects.create(display_name="Traders")
    role = job.application.app_roles.get(display_name="User")
    get(reverse("applications:assignment_add", args=[oid]), data={"q": "a"})
    post(
        reverse("applications:assignment_add", args=[oid]),
        {"principal": [f"user:{user.object_id}", f"group:{group.object_id}"], "app_role": role.pk},
    )
    page = reverse("provisioning:configuration", args=[oid])
    test = reverse("provisioning:test_connection", args=[oid])
    get(page)
    entered = base_data(tenant_url=scim_server.base_url, secret_token=token)
    post(test, entered, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="test-result")
    post(test, entered)  # without JavaScript
    post(test, {**entered, "secret_token": "wrong"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="test-result")
    post(test, {**entered, "secret_token": token})  # test again so the fingerprint matches
    post(page, {**entered, "notification_email": "broken"})  # a validation error with the token typed in
    post(page, {**entered, "notify_on_failure": "on"})
    post(page, {**base_data(tenant_url=scim_server.base_url), "enabled": "on", "notify_on_failure": "on"})
    on = {
        **base_data(tenant_url=scim_server.base_url),
        "enabled": "on",
        "notify_on_failure": "on",
        "scope": "all",
    }
    post(page, on, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="configuration")
    get(page)
    for name in ("overview", "properties", "assignments", "effective", "delete"):
        get(reverse(f"applications:{name}", args=[oid]))
    get(reverse("applications:app_list"))
    get(reverse("audit_log"))
    get(reverse("audit_log"), data={"app": job.application_id})

    job.refresh_from_db()
    assert job.secret_token == token and job.enabled and job.scope == "all"  # the flow really saved
    assert AuditEntry.objects.filter(activity="Enable/start provisioning configuration").exists()
    for html in seen:
        assert token not in html
    audit_dump = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert token not in audit_dump
    assert "******" in audit_dump  # the token change is recorded, redacted
