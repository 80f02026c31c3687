"""The outbound policy and the Test Connection rate limit as the blade and the API show them (issue 15, point 2)."""

import pytest

from portal.applications import services
from provisioning.models import ProvisioningJob
from tests.fixtures.api_client import ApiClient, assert_graph_error
from tests.fixtures.configuration_form import connection_url

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "test-result"}


@pytest.fixture
def job() -> ProvisioningJob:
    return services.instantiate("taskize-connect", "Taskize Connect").provisioning


@pytest.fixture
def production_policy(settings):
    """The production default: loopback not allowed."""
    settings.PROVISIONING_OUTBOUND_ALLOW = []


def test_test_connection_to_a_refused_address_says_so_and_connects_nowhere(
    signed_in_client, job, listener, production_policy
):
    response = signed_in_client.post(
        connection_url(job),
        {"auth_method": "bearer", "tenant_url": listener.url, "secret_token": "t0ken-typed-here"},
        **HTMX,
    )

    html = response.content.decode()
    assert "Destination not allowed" in html and "destination not allowed by the outbound policy" in html
    assert "refused" not in html.replace("refuses that address", "")  # no "connection refused"
    assert listener.connections == 0


def test_the_demo_default_allows_loopback(signed_in_client, job, listener, settings):
    settings.PROVISIONING_OUTBOUND_ALLOW = ["127.0.0.0/8", "::1/128"]
    signed_in_client.post(
        connection_url(job),
        {"auth_method": "bearer", "tenant_url": listener.url, "secret_token": "t0ken-typed-here"},
        **HTMX,
    )

    assert listener.received("t0ken-typed-here")


def test_validate_credentials_to_a_refused_address(client, admin_token, listener, production_policy):
    api = ApiClient(client, admin_token)
    created = api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": "Contoso"}).json()
    base = f"/servicePrincipals/{created['servicePrincipal']['id']}/synchronization"
    job_id = api.post(f"{base}/jobs", {"templateId": "scimgeneric"}).json()["id"]

    response = api.post(
        f"{base}/jobs/{job_id}/validateCredentials",
        {
            "credentials": [
                {"key": "BaseAddress", "value": listener.url},
                {"key": "SecretToken", "value": "t0ken-typed-here"},
            ]
        },
    )

    error = assert_graph_error(response, 400, "credentials")
    assert error["code"] == "DestinationNotAllowed"
    assert "destination not allowed by the outbound policy" in error["message"]
    assert listener.connections == 0


def test_test_connection_is_rate_limited_per_user(
    signed_in_client, job, listener, settings, django_user_model
):
    settings.PROVISIONING_TEST_CONNECTION_LIMIT = 2
    data = {"auth_method": "bearer", "tenant_url": listener.url, "secret_token": "t0ken-typed-here"}

    for _ in range(2):
        signed_in_client.post(connection_url(job), data, **HTMX)
    over = signed_in_client.post(connection_url(job), data, **HTMX).content.decode()

    assert "Too many tests" in over and "Test Connection can run 2 times per 60 seconds" in over
    assert len(listener.requests) == 2
    # Another user has their own allowance.
    other = django_user_model.objects.create_superuser("other", "other@example.com", "x-password-1")
    signed_in_client.force_login(other)
    assert "Too many tests" not in signed_in_client.post(connection_url(job), data, **HTMX).content.decode()


def test_validate_credentials_is_rate_limited_with_429(client, admin_token, listener, settings):
    settings.PROVISIONING_TEST_CONNECTION_LIMIT = 1
    api = ApiClient(client, admin_token)
    created = api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": "Contoso"}).json()
    base = f"/servicePrincipals/{created['servicePrincipal']['id']}/synchronization"
    job_id = api.post(f"{base}/jobs", {"templateId": "scimgeneric"}).json()["id"]
    body = {
        "credentials": [
            {"key": "BaseAddress", "value": listener.url},
            {"key": "SecretToken", "value": "t0ken-typed-here"},
        ]
    }

    api.post(f"{base}/jobs/{job_id}/validateCredentials", body)
    response = api.post(f"{base}/jobs/{job_id}/validateCredentials", body)

    error = assert_graph_error(response, 429, "credentials")
    assert "Try again in" in error["message"] and int(response["Retry-After"]) >= 1
    assert len(listener.requests) == 1
