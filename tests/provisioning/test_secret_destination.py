"""A stored secret never goes to a new destination (issue 15, point 1): the blade's form and Test Connection.

Each test stores a token (or OAuth client secret) for one destination, then points the form at a
recording listener on a new loopback port with the secret left blank: the listener must never see the
stored secret, the secret field says to type it again, and typing it again reaches the listener.
"""

import pytest

from portal.applications import services
from provisioning.models import ProvisioningJob
from provisioning.sync.credentials import Credentials, secrets_to_retype
from tests.fixtures.configuration_form import connection_url, form_data, page_url

pytestmark = pytest.mark.django_db

STORED_TOKEN = "stored-Tk7Qm2Vz9Lp4Xw8"
STORED_SECRET = "stored-Cs3Rn6Yb1Hd5Gj0"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "test-result"}


@pytest.fixture
def job() -> ProvisioningJob:
    job = services.instantiate("taskize-connect", "Taskize Connect").provisioning
    job.tenant_url, job.secret_token = "https://taskize.example/scim/v2", STORED_TOKEN
    job.save()
    return job


@pytest.fixture
def oauth_job(job) -> ProvisioningJob:
    job.auth_method = "oauth2_client_credentials"
    job.oauth_token_url = "https://login.taskize.example/token"
    job.oauth_client_id = "portal"
    job.oauth_client_secret = STORED_SECRET
    job.save()
    return job


def test_save_with_a_new_tenant_url_asks_for_the_token_again(signed_in_client, job, listener):
    response = signed_in_client.post(page_url(job), form_data(job, tenant_url=listener.url))

    assert response.status_code == 200  # the form again, not a redirect
    assert "enter the secret token again" in response.context["form"].errors["secret_token"][0]
    job.refresh_from_db()
    assert (job.tenant_url, job.secret_token) == ("https://taskize.example/scim/v2", STORED_TOKEN)
    assert not listener.received(STORED_TOKEN)


def test_save_with_a_new_tenant_url_and_the_token_typed_again_is_saved(signed_in_client, job, listener):
    response = signed_in_client.post(
        page_url(job), form_data(job, tenant_url=listener.url, secret_token="typed-again-4xR9")
    )

    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.tenant_url, job.secret_token) == (listener.url, "typed-again-4xR9")


def test_test_connection_to_a_new_url_never_sends_the_stored_token(signed_in_client, job, listener):
    response = signed_in_client.post(
        connection_url(job), {"auth_method": "bearer", "tenant_url": listener.url}, **HTMX
    )

    html = response.content.decode()
    assert "enter the secret token again" in html
    assert listener.requests == [] and listener.connections == 0
    assert not listener.received(STORED_TOKEN)


def test_test_connection_with_the_token_typed_again_reaches_the_new_url(signed_in_client, job, listener):
    signed_in_client.post(
        connection_url(job),
        {"auth_method": "bearer", "tenant_url": listener.url, "secret_token": "typed-again-4xR9"},
        **HTMX,
    )

    assert listener.received("typed-again-4xR9")
    assert not listener.received(STORED_TOKEN)


def test_switching_to_oauth_at_a_new_token_endpoint_asks_for_the_client_secret(
    signed_in_client, oauth_job, listener
):
    response = signed_in_client.post(
        connection_url(oauth_job),
        {
            "auth_method": "oauth2_client_credentials",
            "tenant_url": oauth_job.tenant_url,
            "oauth_token_url": f"{listener.url}/token",
            "oauth_client_id": "portal",
        },
        **HTMX,
    )

    assert "enter the client secret again" in response.content.decode()
    assert listener.requests == []
    assert not listener.received_any(STORED_SECRET)


def test_oauth_with_a_new_tenant_url_asks_for_the_client_secret(signed_in_client, oauth_job, listener):
    """The client secret buys an access token that would go to the new tenant URL."""
    response = signed_in_client.post(page_url(oauth_job), form_data(oauth_job, tenant_url=listener.url))

    assert response.status_code == 200
    assert "oauth_client_secret" in response.context["form"].errors
    oauth_job.refresh_from_db()
    assert oauth_job.tenant_url == "https://taskize.example/scim/v2"


def test_oauth_secret_typed_again_goes_to_the_new_token_endpoint(signed_in_client, oauth_job, listener):
    signed_in_client.post(
        connection_url(oauth_job),
        {
            "auth_method": "oauth2_client_credentials",
            "tenant_url": oauth_job.tenant_url,
            "oauth_token_url": f"{listener.url}/token",
            "oauth_client_id": "portal",
            "oauth_client_secret": "typed-again-Sc7",
        },
        **HTMX,
    )

    assert listener.received_any("typed-again-Sc7")
    assert not listener.received_any(STORED_SECRET)


def test_changing_the_method_asks_for_the_secret_of_the_new_method(oauth_job):
    stored = Credentials.from_job(oauth_job)  # OAuth, with a stale bearer token also stored

    errors = secrets_to_retype(stored, {"auth_method": "bearer", "tenant_url": stored.tenant_url})

    assert list(errors) == ["secret_token"]
    assert "authentication method" in errors["secret_token"]


def test_unchanged_destination_keeps_the_stored_secret(job):
    stored = Credentials.from_job(job)

    assert secrets_to_retype(stored, {"auth_method": "bearer", "tenant_url": stored.tenant_url}) == {}
    assert stored.with_changes(tenant_url=stored.tenant_url).secret_token == STORED_TOKEN
    moved = stored.with_changes(tenant_url="https://elsewhere.example/scim")
    assert moved.secret_token == ""


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("oauth_token_url", "https://elsewhere.example/token"),
        ("tenant_url", "https://elsewhere.example/scim"),
        ("oauth_client_id", "someone-else"),
        ("auth_method", "oauth2_client_credentials"),
    ],
)
def test_an_authorize_grant_is_dropped_when_its_destination_changes(field, value):
    stored = Credentials(
        auth_method="oauth2_authorization_code",
        tenant_url="https://taskize.example/scim/v2",
        oauth_authorize_url="https://login.taskize.example/authorize",
        oauth_token_url="https://login.taskize.example/token",
        oauth_client_id="portal",
        oauth_refresh_token="stored-refresh-Rt8",
    )
    assert stored.with_changes(oauth_scope="openid").oauth_refresh_token == "stored-refresh-Rt8"
    changed = stored.with_changes(**{field: value})
    assert changed.oauth_refresh_token == ""
