"""The Provisioning page: layout, Save / Discard, every validation error, status On/Off and its audit."""

import pytest

from portal.applications import services
from portal.audit import Activity
from portal.models import AuditEntry
from provisioning.models import JobState, ProvisioningJob
from tests.fixtures.configuration_form import errors_of, form_data, mark_tested, page_url

pytestmark = pytest.mark.django_db

HTMX_FORM = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "configuration"}


class EngineCalls:
    """Records what the control module asks of the engine, and flags the job the way the engine does."""

    def __init__(self):
        self.calls: list[tuple[str, int]] = []

    def start(self, job):
        self.calls.append(("start", job.pk))
        ProvisioningJob.objects.filter(pk=job.pk).update(enabled=True, state=JobState.ACTIVE)

    def stop(self, job):
        self.calls.append(("stop", job.pk))
        ProvisioningJob.objects.filter(pk=job.pk).update(enabled=False, state=JobState.PAUSED)


@pytest.fixture
def control(monkeypatch) -> EngineCalls:
    engine = EngineCalls()
    monkeypatch.setattr("provisioning.sync.control.start", engine.start)
    monkeypatch.setattr("provisioning.sync.control.stop", engine.stop)
    return engine


@pytest.fixture
def job() -> ProvisioningJob:
    return services.instantiate("taskize-connect", "Taskize Connect").provisioning


# --- the page ------------------------------------------------------------------------------------


def test_page_has_the_sections_of_the_provisioning_blade(signed_in_client, job):
    html = signed_in_client.get(page_url(job)).content.decode()
    for text in (
        "Taskize Connect | Provisioning",
        "Provisioning Mode",
        "Admin Credentials",
        "Tenant URL",
        "Secret Token",
        "OAuth 2 client credentials",
        "Test Connection",
        "Mappings",
        "Provision Microsoft Entra ID Users",
        "Provision Microsoft Entra ID Groups",
        "Settings",
        "Notification Email",
        "Send an email notification when a failure occurs",
        "Prevent accidental deletion",
        "Sync only assigned users and groups",
        "Sync all users and groups",
        "Provisioning Status",
        ">Save</button>",
        ">Discard</a>",
        "Stored token: not set",
        "The credentials have not passed Test Connection yet.",
    ):
        assert text in html, text
    assert 'value="500"' in html  # the accidental-deletion threshold default


def test_save_stores_the_settings_and_audits_old_and_new(signed_in_client, job, admin_user):
    response = signed_in_client.post(
        page_url(job),
        form_data(
            job,
            tenant_url="https://taskize.example/scim/v2",
            notification_email="ops@contoso.test",
            notify_on_failure="on",
            deletion_threshold="25",
            scope="all",
            interval_minutes="20",
        ),
        follow=True,
    )
    assert "Saved the provisioning configuration." in response.content.decode()
    job.refresh_from_db()
    assert job.tenant_url == "https://taskize.example/scim/v2"
    assert (job.notification_email, job.notify_on_failure) == ("ops@contoso.test", True)
    assert (job.deletion_threshold, job.scope, job.interval_minutes) == (25, "all", 20)
    assert job.needs_full_sync  # a scope change means an initial cycle
    assert (job.state, job.enabled) == (JobState.NOT_RUN, False)  # configured, never run

    entry = AuditEntry.objects.get(activity=Activity.UPDATE_PROVISIONING)
    assert entry.actor == admin_user and entry.application_id == job.application_id
    changes = {c["field"]: (c["old"], c["new"]) for c in entry.changes}
    assert changes == {
        "tenant_url": ("", "https://taskize.example/scim/v2"),
        "notification_email": ("", "ops@contoso.test"),
        "notify_on_failure": (False, True),
        "deletion_threshold": (500, 25),
        "scope": ("assigned", "all"),
        "interval_minutes": (40, 20),
    }


def test_save_without_changes_says_so_and_audits_nothing(signed_in_client, job):
    response = signed_in_client.post(page_url(job), form_data(job), follow=True)
    assert "No changes to save." in response.content.decode()
    assert not AuditEntry.objects.filter(activity=Activity.UPDATE_PROVISIONING).exists()


def test_htmx_save_swaps_the_form_with_a_confirmation(signed_in_client, job):
    response = signed_in_client.post(
        page_url(job), form_data(job, notification_email="a@b.test"), **HTMX_FORM
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<form id="configuration"')
    assert "Saved the provisioning configuration." in html
    assert 'value="a@b.test"' in html


def test_htmx_save_with_errors_swaps_the_form_with_the_errors(signed_in_client, job):
    response = signed_in_client.post(page_url(job), form_data(job, notification_email="nope"), **HTMX_FORM)
    html = response.content.decode()
    assert "<html" not in html
    assert "The configuration was not saved. Fix the fields marked below." in html
    assert "Enter a valid email address, such as admin@contoso.com." in html


def test_discard_drops_unsaved_edits(signed_in_client, job):
    job.notification_email = "kept@contoso.test"
    job.save()
    # An edit that fails validation is shown back as typed ...
    html = signed_in_client.post(
        page_url(job), form_data(job, notification_email="typo@", scope="all")
    ).content
    assert b'value="typo@"' in html
    # ... Discard (a GET of the form, htmx or not) shows the stored values again.
    for extra in ({}, {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "configuration"}):
        html = signed_in_client.get(page_url(job), **extra).content.decode()
        assert 'value="kept@contoso.test"' in html and "typo@" not in html
    job.refresh_from_db()
    assert (job.notification_email, job.scope) == ("kept@contoso.test", "assigned")


def test_unknown_app_is_a_404(signed_in_client):
    assert (
        signed_in_client.get("/applications/00000000-0000-0000-0000-000000000000/provisioning/").status_code
        == 404
    )


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tenant_url", "error"),
    [
        ("not a url", "can&#x27;t contain spaces"),
        ("taskize.example/scim", "absolute http:// or https:// URL"),
        ("ftp://taskize.example/scim", "absolute http:// or https:// URL"),
        ("https://", "absolute http:// or https:// URL"),
        ("https://taskize.example:99999/scim", "port in the tenant URL"),
        ("https://user:pw@taskize.example/scim", "Don&#x27;t put a user name or password"),
        ("https://bad_host!.example/scim", "is not a valid host name"),
        ("https://taskize.example/scim#frag", "can&#x27;t have a #fragment"),
    ],
)
def test_bad_tenant_url_is_a_field_error(signed_in_client, job, tenant_url, error):
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, tenant_url=tenant_url)))
    assert error in html
    job.refresh_from_db()
    assert job.tenant_url == ""


@pytest.mark.parametrize(
    "tenant_url",
    [
        "http://127.0.0.1:8081/v2",
        "http://scim-target:8080/scim",
        "https://[::1]:8443/scim/v2?aadOptscim062020",
    ],
)
def test_internal_hosts_ips_and_feature_flags_are_accepted(signed_in_client, job, tenant_url):
    signed_in_client.post(page_url(job), form_data(job, tenant_url=tenant_url))
    job.refresh_from_db()
    assert job.tenant_url == tenant_url


@pytest.mark.parametrize("email", ["nope", "a@", "@contoso.test", "a b@contoso.test"])
def test_bad_notification_email_is_a_field_error(signed_in_client, job, email):
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, notification_email=email)))
    assert "Enter a valid email address, such as admin@contoso.com." in html


def test_failure_notification_needs_an_email(signed_in_client, job):
    html = errors_of(
        signed_in_client.post(page_url(job), form_data(job, notify_on_failure="on", notification_email=""))
    )
    assert "Enter the email address that should receive failure notifications." in html


@pytest.mark.parametrize(
    ("threshold", "error"),
    [
        ("0", "The threshold must be a positive whole number (1 or more)."),
        ("-5", "The threshold must be a positive whole number (1 or more)."),
        ("abc", "Enter the threshold as a whole number, such as 500."),
        ("1.5", "Enter the threshold as a whole number, such as 500."),
        ("", "Enter how many deletions per cycle are allowed, such as 500."),
        ("99999999", "The threshold can be at most 1,000,000."),
    ],
)
def test_bad_deletion_threshold_is_a_field_error(signed_in_client, job, threshold, error):
    data = form_data(job, prevent_accidental_deletion="on", deletion_threshold=threshold)
    html = errors_of(signed_in_client.post(page_url(job), data))
    assert error in html
    job.refresh_from_db()
    assert job.deletion_threshold == 500


def test_blank_threshold_is_fine_when_prevention_is_off_and_keeps_the_number(signed_in_client, job):
    data = form_data(job, deletion_threshold="")
    data.pop("prevent_accidental_deletion")
    signed_in_client.post(page_url(job), data)
    job.refresh_from_db()
    assert (job.prevent_accidental_deletion, job.deletion_threshold) == (False, 500)


@pytest.mark.parametrize(
    ("interval", "error"),
    [
        ("0", "The interval must be at least 1 minute."),
        ("", "Enter the interval in minutes, such as 40."),
        ("soon", "Enter the interval as a whole number of minutes, such as 40."),
        ("1441", "The interval can be at most 1440 minutes (a day)."),
    ],
)
def test_bad_interval_is_a_field_error(signed_in_client, job, interval, error):
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, interval_minutes=interval)))
    assert error in html


@pytest.mark.parametrize(
    ("field", "value", "error"),
    [
        ("scope", "everyone", "Choose which users and groups to sync."),
        ("mode", "Magic", "Choose Automatic or Manual."),
        ("enabled", "maybe", "Choose On or Off."),
        ("auth_method", "basic", "Choose Bearer token or OAuth 2 client credentials."),
        ("enabled", None, "This field is required."),
    ],
)
def test_tampered_choices_are_field_errors_not_crashes(signed_in_client, job, field, value, error):
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, **{field: value})))
    assert error in html


def test_an_empty_post_shows_errors_not_a_crash(signed_in_client, job):
    html = errors_of(signed_in_client.post(page_url(job), {}))
    assert "The configuration was not saved." in html


# --- provisioning status --------------------------------------------------------------------------


def test_on_without_tested_credentials_is_refused(signed_in_client, job):
    data = form_data(job, tenant_url="https://taskize.example/scim/v2", secret_token="s3cret", enabled="on")
    html = errors_of(signed_in_client.post(page_url(job), data))
    assert "Select Test Connection and make sure it succeeds before turning provisioning On." in html
    job.refresh_from_db()
    assert not job.enabled and job.secret_token == ""  # nothing saved


def test_on_without_a_tenant_url_asks_for_it(signed_in_client, job):
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, enabled="on")))
    assert "Enter the tenant URL (the SCIM endpoint of the application)." in html
    assert "Complete the admin credentials before turning provisioning On." in html


def test_changed_token_after_the_test_refuses_on(signed_in_client, job):
    mark_tested(job, token="tok-1")
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, secret_token="tok-2", enabled="on")))
    assert "The admin credentials changed since the last successful Test Connection." in html
    job.refresh_from_db()
    assert not job.enabled and job.secret_token == "tok-1"


def test_changed_tenant_url_after_the_test_refuses_on(signed_in_client, job):
    mark_tested(job)
    html = errors_of(
        signed_in_client.post(
            page_url(job), form_data(job, tenant_url="https://other.example/scim", enabled="on")
        )
    )
    # The stored token may not follow the new URL: it must be typed again (and then tested).
    assert "The tenant URL changed: enter the secret token again." in html
    job.refresh_from_db()
    assert not job.enabled and job.tenant_url != "https://other.example/scim"


def test_on_with_tested_credentials_starts_through_the_engine_and_off_stops(
    signed_in_client, job, control, admin_user
):
    mark_tested(job)
    response = signed_in_client.post(page_url(job), form_data(job, enabled="on"), follow=True)
    assert "Saved. Provisioning is On: the initial cycle starts shortly." in response.content.decode()
    assert control.calls == [("start", job.pk)]
    job.refresh_from_db()
    assert job.enabled and job.state == JobState.ACTIVE
    start = AuditEntry.objects.get(activity=Activity.START_PROVISIONING)
    assert start.actor == admin_user and start.changes == [{"field": "enabled", "old": False, "new": True}]

    response = signed_in_client.post(page_url(job), form_data(job, enabled="off"), follow=True)
    assert "Saved. Provisioning is Off" in response.content.decode()
    assert control.calls[-1] == ("stop", job.pk)
    job.refresh_from_db()
    assert not job.enabled and job.state == JobState.PAUSED
    assert AuditEntry.objects.filter(activity=Activity.STOP_PROVISIONING).count() == 1


def test_saving_settings_while_on_needs_no_new_test(signed_in_client, job, control):
    mark_tested(job)
    signed_in_client.post(page_url(job), form_data(job, enabled="on"))
    job.refresh_from_db()
    # Simulate a key rotation that invalidates the stored fingerprint: unchanged credentials still save.
    job.credentials_fingerprint = "0" * 64
    job.save()
    signed_in_client.post(page_url(job), form_data(job, enabled="on", notification_email="new@contoso.test"))
    job.refresh_from_db()
    assert job.notification_email == "new@contoso.test" and job.enabled
    assert control.calls == [("start", job.pk)]  # not started twice


def test_changing_the_token_while_on_needs_a_new_test(signed_in_client, job, control):
    mark_tested(job)
    signed_in_client.post(page_url(job), form_data(job, enabled="on"))
    job.refresh_from_db()
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, enabled="on", secret_token="other")))
    assert "changed since the last successful Test Connection" in html


def test_accidental_deletion_prevention_needs_an_email_to_turn_on(signed_in_client, job):
    mark_tested(job)
    data = form_data(job, enabled="on", notification_email="", prevent_accidental_deletion="on")
    html = errors_of(signed_in_client.post(page_url(job), data))
    assert "Accidental-deletion prevention alerts this address" in html


def test_manual_mode_explains_accounts_are_managed_outside_and_cannot_be_on(signed_in_client, job):
    mark_tested(job)
    html = errors_of(signed_in_client.post(page_url(job), form_data(job, mode="Manual", enabled="on")))
    assert "Provisioning can only be On in Automatic mode." in html

    signed_in_client.post(page_url(job), form_data(job, mode="Manual"))
    job.refresh_from_db()
    assert job.mode == "Manual"
    html = signed_in_client.get(page_url(job)).content.decode()
    assert 'id="manual-note" >' in html or 'id="manual-note">' in html  # shown (not hidden)
    assert "are managed outside this portal" in html
    assert 'id="automatic-sections" hidden' in html
    # ... and back to Automatic, credentials intact.
    signed_in_client.post(page_url(job), form_data(job, mode="Automatic"))
    job.refresh_from_db()
    assert job.mode == "Automatic" and job.secret_token == "tok-1"


@pytest.mark.parametrize(
    ("missing", "error"),
    [
        ("oauth_token_url", "Enter the token endpoint for the OAuth 2 client credentials grant."),
        ("oauth_client_id", "Enter the client identifier."),
        ("oauth_client_secret", "Enter the client secret."),
    ],
)
def test_oauth_needs_endpoint_client_id_and_secret_to_turn_on(signed_in_client, job, missing, error):
    values = {
        "oauth_token_url": "https://login.example/token",
        "oauth_client_id": "portal",
        "oauth_client_secret": "cs-1",
    }
    values[missing] = ""
    data = form_data(
        job,
        auth_method="oauth2_client_credentials",
        tenant_url="https://t.example/scim",
        enabled="on",
        **values,
    )
    html = errors_of(signed_in_client.post(page_url(job), data))
    assert error in html


def test_bad_token_endpoint_is_a_field_error(signed_in_client, job):
    data = form_data(job, auth_method="oauth2_client_credentials", oauth_token_url="login.example/token")
    html = errors_of(signed_in_client.post(page_url(job), data))
    assert "Enter the token endpoint as an absolute http:// or https:// URL" in html


def test_status_shows_when_the_saved_credentials_were_tested(signed_in_client, job):
    mark_tested(job)
    html = signed_in_client.get(page_url(job)).content.decode()
    assert "The saved credentials passed Test Connection on" in html
    job.secret_token = "changed-elsewhere"
    job.save()
    html = signed_in_client.get(page_url(job)).content.decode()
    assert "The saved credentials have changed since the last successful test" in html


def test_saving_does_not_overwrite_what_the_engine_wrote_meanwhile(job):
    from provisioning.forms.configuration import ProvisioningConfigurationForm

    form = ProvisioningConfigurationForm(form_data(job, notification_email="ops@contoso.test"), job=job)
    assert form.is_valid(), form.errors
    # A cycle finishes between the page load and Save.
    ProvisioningJob.objects.filter(pk=job.pk).update(watermark=42, quarantine_reason="TooManyDeletes")
    form.save()
    job.refresh_from_db()
    assert (job.notification_email, job.watermark, job.quarantine_reason) == (
        "ops@contoso.test",
        42,
        "TooManyDeletes",
    )
