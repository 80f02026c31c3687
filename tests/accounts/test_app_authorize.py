"""Authorize (seed 002, Taskize Connect: "cliquez sur Autoriser"), end to end against a real OAuth server.

The application's OAuth server is pytest-iam's Canaille over TLS (``oidc_provider``). The admin's browser
is the Django test client on the portal's side and a requests session at the provider (its real login,
password and consent pages). The portal sends the browser to the authorization endpoint with a state and
a PKCE challenge, trades the code at the token endpoint, stores the refresh token encrypted, refreshes
access tokens from it as they expire (keeping the rotated refresh token) and says clearly when the
grant was revoked.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import reverse

from portal.accounts.models import RoleAssignment
from portal.accounts.roles import PortalRole
from portal.api.models import ApiToken
from portal.applications.services import instantiate
from provisioning.models import ProvisioningJob
from provisioning.sync.connector_pool import oauth_for
from tests.fixtures.api_client import ApiClient
from tests.fixtures.oidc import Provider, ProviderBrowser

pytestmark = pytest.mark.django_db

APP_CLIENT_ID = "taskize-portal"
APP_CLIENT_SECRET = "taskize-portal-secret"
CALLBACK = "http://testserver/applications/provisioning/authorize/callback/"


@pytest.fixture
def app_client(oidc_provider: Provider):
    """The portal registered at the application's OAuth server (authorization code + refresh tokens)."""
    scope = ["openid", "profile", "offline_access"]
    with oidc_provider.registered_client(
        APP_CLIENT_ID, APP_CLIENT_SECRET, CALLBACK, "client_secret_basic", scope
    ) as client:
        yield client


@pytest.fixture
def taskize(settings, oidc_provider: Provider, app_client: Any, scim_server_factory) -> ProvisioningJob:
    settings.PROVISIONING_OAUTH_CA_BUNDLE = oidc_provider.ca_bundle
    target = scim_server_factory(token=None)  # the SCIM side is not what is tested here
    job = instantiate("taskize-connect", "Taskize Connect").provisioning
    job.tenant_url = target.base_url
    job.save()
    return job


def _form(job: ProvisioningJob, provider: Provider, **changes: str) -> dict[str, str]:
    return {
        "mode": "Automatic",
        "auth_method": "oauth2_authorization_code",
        "tenant_url": job.tenant_url,
        "oauth_authorize_url": f"{provider.origin}/oauth/authorize",
        "oauth_token_url": f"{provider.origin}/oauth/token",
        "oauth_client_id": APP_CLIENT_ID,
        "oauth_client_secret": APP_CLIENT_SECRET,
        "oauth_scope": "openid profile offline_access",
        "enabled": "off",
        "notification_email": "ops@contoso.test",
        "prevent_accidental_deletion": "on",
        "deletion_threshold": "500",
        "scope": "assigned",
        "interval_minutes": "40",
        **changes,
    }


def _authorize(client, job: ProvisioningJob, provider: Provider, person) -> Any:
    """Select Authorize, sign in at the application, come back to the callback."""
    page = reverse("provisioning:configuration", args=[job.application.service_principal_id])
    start = client.post(
        reverse("provisioning:authorize", args=[job.application.service_principal_id]), _form(job, provider)
    )
    assert start.status_code == 302, start.content.decode()[:2000]
    location = start["Location"]
    query = parse_qs(urlsplit(location).query)
    assert location.startswith(f"{provider.origin}/oauth/authorize?")
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) == 43
    assert query["state"][0] and query["redirect_uri"] == [CALLBACK]
    callback = ProviderBrowser(provider).authorize(location, person, callback=CALLBACK)
    done = client.get(callback.removeprefix("http://testserver"))
    assert done.status_code == 302 and done["Location"] == page
    return done


def _test_connection(client, job: ProvisioningJob, provider: Provider) -> str:
    url = reverse("provisioning:test_connection", args=[job.application.service_principal_id])
    return client.post(url, _form(job, provider, oauth_client_secret="")).content.decode()


def test_authorize_stores_an_encrypted_refresh_token_that_test_connection_uses(
    taskize, oidc_provider, admin_client, request
):
    person = request.getfixturevalue("make_person")()
    page = admin_client.get(
        reverse("provisioning:configuration", args=[taskize.application.service_principal_id])
    )
    html = page.content.decode()
    assert 'value="oauth2_authorization_code"' in html and 'data-testid="authorize"' in html
    assert CALLBACK in html  # the redirect URI to register at the application

    _authorize(admin_client, taskize, oidc_provider, person)

    taskize.refresh_from_db()
    granted = taskize.oauth_refresh_token
    assert granted and taskize.oauth_authorized_at is not None
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT oauth_refresh_token FROM provisioning_provisioningjob WHERE id = %s", [taskize.pk]
        )
        stored = cursor.fetchone()[0]
    assert stored.startswith("fernet:") and granted not in stored  # encrypted at rest

    result = _test_connection(admin_client, taskize, oidc_provider)
    assert "Connection successful" in result, result
    assert granted not in result
    taskize.refresh_from_db()
    # The test refreshed the access token; the server rotated the refresh token and the new one was kept.
    assert taskize.oauth_refresh_token and taskize.oauth_refresh_token != granted
    assert "Connection successful" in _test_connection(admin_client, taskize, oidc_provider)


def test_access_tokens_are_refreshed_as_they_expire_and_the_rotated_refresh_token_is_kept(
    taskize, oidc_provider, admin_client, request
):
    person = request.getfixturevalue("make_person")()
    _authorize(admin_client, taskize, oidc_provider, person)
    taskize.refresh_from_db()
    taskize.auth_method = "oauth2_authorization_code"  # what Save does once Test Connection passed
    taskize.save(update_fields=["auth_method"])
    first_refresh = taskize.oauth_refresh_token
    now = [1000.0]
    oauth = oauth_for(taskize)  # the engine's OAuth client for this job
    oauth.clock = lambda: now[0]
    other_worker = oauth_for(taskize)  # built with the same refresh token, used after it was rotated

    def userinfo(token: str) -> int:
        response = requests.get(
            f"{oidc_provider.origin}/oauth/userinfo",
            headers={"Authorization": f"Bearer {token}"},
            verify=oidc_provider.ca_bundle,
            timeout=10,
        )
        return response.status_code

    first = oauth.token()
    assert oauth.fetch_count == 1 and userinfo(first) == 200  # a real access token of the provider
    assert oauth.token() == first and oauth.fetch_count == 1  # cached while valid
    now[0] += 3600  # the access token's lifetime has passed (on the connector's clock)
    # The provider's JWTs have a one-second iat: a refresh within the same second would mint the very
    # string it just revoked, so wait until the provider's own clock has moved to the next second.
    issued_in = int(time.time())
    while int(time.time()) == issued_in:
        time.sleep(0.01)
    second = oauth.token()
    assert oauth.fetch_count == 2 and userinfo(second) == 200  # refreshed from the refresh token
    # Canaille rotates refresh tokens: the new one is stored (encrypted) and the spent one never reused.
    taskize.refresh_from_db()
    assert oauth.refresh_token != first_refresh and taskize.oauth_refresh_token == oauth.refresh_token
    # Another worker built with the spent token reads the stored one and refreshes without invalid_grant.
    assert other_worker.token() and other_worker.fetch_count == 1
    taskize.refresh_from_db()
    assert taskize.oauth_refresh_token == other_worker.refresh_token != first_refresh
    oauth.close()
    other_worker.close()


def test_a_revoked_grant_is_reported_clearly_by_test_connection(
    taskize, oidc_provider, admin_client, request
):
    person = request.getfixturevalue("make_person")()
    _authorize(admin_client, taskize, oidc_provider, person)
    taskize.refresh_from_db()
    revoked = requests.post(
        f"{oidc_provider.origin}/oauth/revoke",
        data={"token": taskize.oauth_refresh_token, "token_type_hint": "refresh_token"},
        auth=(APP_CLIENT_ID, APP_CLIENT_SECRET),
        verify=oidc_provider.ca_bundle,
        timeout=10,
    )
    assert revoked.status_code == 200

    result = _test_connection(admin_client, taskize, oidc_provider)
    assert "Authorization expired or revoked" in result, result
    assert "invalid_grant" in result and "select Authorize" in result.replace("Select", "select")
    assert taskize.oauth_refresh_token not in result

    # The API's Test Connection of the saved credentials says the same.
    taskize.auth_method = "oauth2_authorization_code"
    taskize.save(update_fields=["auth_method"])
    admin = get_user_model().objects.get(username="admin")
    RoleAssignment.objects.create(user=admin, role=PortalRole.GLOBAL_ADMINISTRATOR)
    api = ApiClient(admin_client, ApiToken.issue(admin, "test", 1)[1])
    sp = taskize.application.service_principal_id
    answer = api.post(
        f"/servicePrincipals/{sp}/synchronization/jobs/{taskize.job_id}/validateCredentials",
        {"useSavedCredentials": True},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "AuthorizationGrantInvalid" and "Authorize" in error["message"]
    assert taskize.oauth_refresh_token not in answer.content.decode()


def test_a_callback_with_a_foreign_state_is_refused(taskize, admin_client):
    response = admin_client.get(reverse("provisioning:oauth_callback"), {"state": "forged", "code": "x"})
    assert response.status_code == 400
    assert "not started from this browser session" in response.content.decode()
    taskize.refresh_from_db()
    assert taskize.oauth_refresh_token == ""


def test_authorize_is_not_offered_by_templates_that_do_not_declare_it(admin_client, oidc_provider):
    job = instantiate("slack", "Slack").provisioning
    page = admin_client.get(
        reverse("provisioning:configuration", args=[job.application.service_principal_id])
    )
    assert 'value="oauth2_authorization_code"' not in page.content.decode()
    response = admin_client.post(
        reverse("provisioning:authorize", args=[job.application.service_principal_id]),
        _form(job, oidc_provider, tenant_url="https://slack.example.test/scim/v2"),
    )
    assert response.status_code == 400 and response.get("Location") is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_cycle_with_a_revoked_grant_stops_and_says_why(
    taskize, oidc_provider, admin_client, request, celery_worker
):
    from provisioning.models import JobState
    from tests.fixtures.provisioning import ProvisionedApp, make_users, run

    person = request.getfixturevalue("make_person")()
    _authorize(admin_client, taskize, oidc_provider, person)
    taskize.refresh_from_db()
    taskize.auth_method, taskize.enabled, taskize.near_real_time = "oauth2_authorization_code", True, False
    taskize.save()
    app = ProvisionedApp(taskize, taskize.application.app_roles.filter(is_default=False).first())
    app.assign(make_users(1, prefix="ada")[0])
    first = run(taskize, initial=True)
    assert (first.status, first.created) == ("completed", 1), (first.status, first.error)

    requests.post(
        f"{oidc_provider.origin}/oauth/revoke",
        data={"token": ProvisioningJob.objects.get(pk=taskize.pk).oauth_refresh_token},
        auth=(APP_CLIENT_ID, APP_CLIENT_SECRET),
        verify=oidc_provider.ca_bundle,
        timeout=10,
    ).raise_for_status()
    from provisioning.sync.connector_pool import forget_target

    forget_target(taskize.pk)  # as a new worker process would: no access token cached from before
    app.assign(make_users(1, prefix="bob")[0])
    second = run(taskize)
    taskize.refresh_from_db()
    assert second.status == "failed" and "revoked" in second.error
    assert taskize.state == JobState.QUARANTINE and "Authorize" in taskize.quarantine_details
