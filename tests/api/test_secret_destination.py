"""A stored secret never goes to a new destination through the API (issue 15, point 1).

``validateCredentials`` and ``PUT …/secrets`` with a new BaseAddress (or token endpoint, or method)
and no secret: 400 naming the secret to send again, and a listener on a new loopback port never sees
the stored one. Sending the secret again works.
"""

from __future__ import annotations

import pytest

from provisioning.models import ProvisioningJob
from tests.fixtures.api_client import assert_graph_error

pytestmark = pytest.mark.django_db

STORED_TOKEN = "stored-Tk7Qm2Vz9Lp4Xw8"
STORED_SECRET = "stored-Cs3Rn6Yb1Hd5Gj0"
STORED_URL = "https://contoso.example/scim/v2"


@pytest.fixture
def app(api):
    created = api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": "Contoso"}).json()
    sp = created["servicePrincipal"]["id"]
    base = f"/servicePrincipals/{sp}/synchronization"
    job = api.post(f"{base}/jobs", {"templateId": "scimgeneric"}).json()["id"]
    saved = api.put(
        f"{base}/secrets",
        {
            "value": [
                {"key": "BaseAddress", "value": STORED_URL},
                {"key": "SecretToken", "value": STORED_TOKEN},
            ]
        },
    )
    assert saved.status_code == 204, saved.content
    return {"base": base, "job": job, "jobs": f"{base}/jobs/{job}"}


def db_job(app) -> ProvisioningJob:
    return ProvisioningJob.objects.get(job_id=app["job"])


def test_validate_credentials_at_a_new_address_without_the_token_is_refused(api, app, listener):
    response = api.post(
        f"{app['jobs']}/validateCredentials",
        {"credentials": [{"key": "BaseAddress", "value": listener.url}]},
    )

    error = assert_graph_error(response, 400, "credentials")
    assert error["details"] == [
        {
            "code": "SecretRequired",
            "message": "SecretToken: The tenant URL changed: enter the secret token again. A stored secret "
            "token is never sent to a new destination.",
            "target": "SecretToken",
        }
    ]
    assert listener.requests == [] and not listener.received(STORED_TOKEN)


def test_validate_credentials_with_the_token_sent_again_reaches_the_new_address(api, app, listener):
    api.post(
        f"{app['jobs']}/validateCredentials",
        {
            "credentials": [
                {"key": "BaseAddress", "value": listener.url},
                {"key": "SecretToken", "value": "sent-again-9Qw"},
            ]
        },
    )

    assert listener.received("sent-again-9Qw") and not listener.received(STORED_TOKEN)


def test_put_secrets_with_a_new_address_only_is_refused_and_changes_nothing(api, app, listener):
    response = api.put(f"{app['base']}/secrets", {"value": [{"key": "BaseAddress", "value": listener.url}]})

    error = assert_graph_error(response, 400, "value")
    assert [d["target"] for d in error["details"]] == ["SecretToken"]
    job = db_job(app)
    assert (job.tenant_url, job.secret_token) == (STORED_URL, STORED_TOKEN)
    # …so neither a later validateCredentials of the saved credentials nor a cycle can send it there.
    api.post(f"{app['jobs']}/validateCredentials", {"useSavedCredentials": True})
    assert not listener.received(STORED_TOKEN)


def test_put_secrets_with_a_new_address_and_the_token_is_saved(api, app, listener):
    response = api.put(
        f"{app['base']}/secrets",
        {
            "value": [
                {"key": "BaseAddress", "value": listener.url},
                {"key": "SecretToken", "value": "sent-again-9Qw"},
            ]
        },
    )

    assert response.status_code == 204, response.content
    assert (db_job(app).tenant_url, db_job(app).secret_token) == (listener.url, "sent-again-9Qw")


def test_oauth_secret_is_not_sent_to_a_new_token_endpoint(api, app, listener):
    oauth = [
        {"key": "AuthenticationType", "value": "OAuth2ClientCredentialsGrant"},
        {"key": "Oauth2TokenExchangeUri", "value": "https://login.contoso.example/token"},
        {"key": "Oauth2ClientId", "value": "portal"},
        {"key": "Oauth2ClientSecret", "value": STORED_SECRET},
    ]
    assert api.put(f"{app['base']}/secrets", {"value": oauth}).status_code == 204

    moved = [{"key": "Oauth2TokenExchangeUri", "value": f"{listener.url}/token"}]
    validate = api.post(f"{app['jobs']}/validateCredentials", {"credentials": moved})
    save = api.put(f"{app['base']}/secrets", {"value": moved})

    for response, container in ((validate, "credentials"), (save, "value")):
        error = assert_graph_error(response, 400, container)
        assert [d["target"] for d in error["details"]] == ["Oauth2ClientSecret"]
        assert "token endpoint changed" in error["message"]
    assert listener.requests == [] and not listener.received_any(STORED_SECRET)
    assert db_job(app).oauth_token_url == "https://login.contoso.example/token"
