"""Who may call what: personal tokens (expired, revoked, unknown), roles, Entra access tokens, no leaks."""

from __future__ import annotations

import datetime as dt
import io
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone

from portal.accounts.models import ExternalIdentity, RoleAssignment
from portal.accounts.roles import PortalRole
from portal.api import auth
from portal.api.models import ApiToken, hash_token
from portal.applications.services import instantiate
from tests.fixtures.api_client import ApiClient, assert_graph_error

pytestmark = pytest.mark.django_db

R = PortalRole


def write_operations(client: Client) -> list[tuple[str, str]]:
    """Every non-GET operation of the API, with its path parameters filled with a plausible id."""
    schema = client.get("/api/beta/openapi.json").json()
    operations = []
    for path, methods in schema["paths"].items():
        for method in methods:
            if method != "get":
                filled = path.replace("/api/beta", "")
                for name in ("{id}", "{jobId}", "{memberId}", "{assignmentId}"):
                    filled = filled.replace(name, str(uuid.uuid4()) if name != "{jobId}" else "job")
                operations.append((method.upper(), filled))
    return operations


# --- tokens -----------------------------------------------------------------------------------------


def test_no_token_is_401_with_www_authenticate(client):
    response = ApiClient(client).get("/users")
    assert_graph_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header",
    [
        "Basic dXNlcjpwYXNz",
        "Bearer",
        "Bearer ppt_not-a-real-token",
        "Bearer nothing-like-ours",
        "Bearer eyJ.a.b",
    ],
)
def test_bad_tokens_are_401(client, header):
    response = client.get("/api/beta/users", headers={"Authorization": header})
    error = assert_graph_error(response, 401)
    assert error["code"] == "InvalidAuthenticationToken"


def test_expired_token_is_401(client, make_token):
    token = make_token(R.GLOBAL_ADMINISTRATOR)
    ApiToken.objects.filter(token_hash=hash_token(token)).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    error = assert_graph_error(ApiClient(client, token).get("/users"), 401)
    assert "expired" in error["message"]


def test_revoked_token_is_401(client, make_token):
    token = make_token(R.GLOBAL_ADMINISTRATOR)
    api = ApiClient(client, token)
    assert api.get("/users").status_code == 200
    ApiToken.objects.get(token_hash=hash_token(token)).revoke()
    error = assert_graph_error(api.get("/users"), 401)
    assert "revoked" in error["message"]


def test_token_of_a_disabled_account_is_401(client, make_token, django_user_model):
    token = make_token(R.GLOBAL_ADMINISTRATOR)
    django_user_model.objects.filter(api_tokens__token_hash=hash_token(token)).update(is_active=False)
    assert_graph_error(ApiClient(client, token).get("/users"), 401)


def test_last_used_is_recorded(client, make_token):
    token = make_token(R.REPORTS_READER)
    ApiClient(client, token).get("/auditLogs/provisioning")
    assert ApiToken.objects.get(token_hash=hash_token(token)).last_used_at is not None


def test_only_the_hash_is_stored(make_token):
    token = make_token(R.GLOBAL_ADMINISTRATOR)
    row = ApiToken.objects.get(token_hash=hash_token(token))
    assert token not in {row.token_hash, row.prefix, row.name} and row.prefix == token[:12]


# --- roles ------------------------------------------------------------------------------------------


def test_reader_cannot_change_anything(client, make_token):
    """Every write operation refuses a Reports Reader with a Graph 403 — before reading the body."""
    api = ApiClient(client, make_token(R.REPORTS_READER))
    operations = write_operations(client)
    assert len(operations) >= 20
    for method, path in operations:
        response = api.request(method, path, {"junk": True})
        error = assert_graph_error(response, 403)
        assert error["code"] == "Authorization_RequestDenied", (method, path)


def test_reader_reads_logs_only(client, make_token):
    api = ApiClient(client, make_token(R.SECURITY_READER))
    assert api.get("/auditLogs/provisioning").status_code == 200
    for path in ("/users", "/groups", "/servicePrincipals", "/applicationTemplates"):
        assert_graph_error(api.get(path), 403)


def test_app_admin_manages_apps_but_not_the_directory(client, make_token):
    api = ApiClient(client, make_token(R.APPLICATION_ADMINISTRATOR))
    created = api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": "By app admin"})
    assert created.status_code == 201
    sp = created.json()["servicePrincipal"]["id"]
    assert api.get(f"/servicePrincipals/{sp}/synchronization/jobs").status_code == 200
    assert api.get("/users").status_code == 200  # reading the directory: needed to assign
    assert_graph_error(api.post("/users", {"displayName": "X", "userPrincipalName": "x@contoso.com"}), 403)
    assert_graph_error(api.post("/groups", {"displayName": "X"}), 403)


def test_owner_sees_and_manages_only_their_app(client, make_token, django_user_model):
    from portal.accounts.models import ApplicationOwner

    mine = instantiate("scim-generic", "Mine")
    theirs = instantiate("scim-generic", "Theirs")
    owner = django_user_model.objects.create_user("owner")
    ApplicationOwner.objects.create(application=mine, user=owner)
    api = ApiClient(client, make_token(None, user=owner))
    listed = api.get("/servicePrincipals").json()["value"]
    assert [sp["displayName"] for sp in listed] == ["Mine"]
    assert api.get(f"/servicePrincipals/{mine.service_principal_id}/synchronization/jobs").status_code == 200
    assert_graph_error(api.get(f"/servicePrincipals/{theirs.service_principal_id}"), 403)
    assert_graph_error(api.get("/users"), 403)


def test_user_without_role_is_refused(client, make_token):
    api = ApiClient(client, make_token(None))
    assert_graph_error(api.get("/auditLogs/provisioning"), 403)


# --- nothing secret in responses -------------------------------------------------------------------------


def test_tokens_and_secrets_never_appear_in_responses(client, make_token, admin_token):
    api = ApiClient(client, admin_token)
    created = api.post("/applicationTemplates/scim-generic/instantiate", {"displayName": "Leak check"}).json()
    sp = created["servicePrincipal"]["id"]
    base = f"/servicePrincipals/{sp}/synchronization"
    job = api.post(f"{base}/jobs", {"templateId": "scimgeneric"}).json()["id"]
    scim_secret = "scim-" + "s3cr3t" * 6
    api.put(
        f"{base}/secrets",
        {
            "value": [
                {"key": "BaseAddress", "value": "http://127.0.0.1:9/scim"},
                {"key": "SecretToken", "value": scim_secret},
            ]
        },
    )
    api.post(f"{base}/jobs/{job}/validateCredentials", {"useSavedCredentials": True})
    api.post(
        f"{base}/jobs/{job}/validateCredentials",
        {"credentials": [{"key": "SecretToken", "value": scim_secret}]},
    )
    for path in (
        "/servicePrincipals",
        f"/servicePrincipals/{sp}",
        f"{base}/templates",
        f"{base}/jobs",
        f"{base}/jobs/{job}",
        f"{base}/jobs/{job}/schema",
        "/auditLogs/provisioning",
        "/users",
        "/nowhere",
    ):
        api.get(path)
    api.get("/users", token="ppt_" + "x" * 40)
    assert len(api.seen) > 10
    for response in api.seen:
        raw = response.content + str(response.items()).encode()
        assert admin_token.encode() not in raw
        assert scim_secret.encode() not in raw


# --- Entra access tokens ---------------------------------------------------------------------------------

TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT_ID = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
GLOBAL_ADMIN_WID = "62e90394-69f5-4237-9190-012177145e10"


@pytest.fixture
def entra(settings, monkeypatch):
    """Microsoft sign-in configured, with signing keys served from memory instead of the tenant's JWKS."""
    settings.ENTRA_TENANT_ID = TENANT
    settings.ENTRA_CLIENT_ID = CLIENT_ID
    settings.ENTRA_CLIENT_SECRET = "unused"
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fetched: list[str] = []

    def signing_key(token, jwks_uri, config):
        fetched.append(jwks_uri)
        return key.public_key()

    monkeypatch.setattr(auth, "signing_key", signing_key)

    def make(**claims) -> str:
        now = int(time.time())
        body = {
            "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
            "aud": f"api://{CLIENT_ID}",
            "tid": TENANT,
            "oid": "99999999-8888-7777-6666-555555555555",
            "preferred_username": "ada@contoso.com",
            "name": "Ada Lovelace",
            "iat": now,
            "nbf": now,
            "exp": now + 600,
            "wids": [GLOBAL_ADMIN_WID],
            **claims,
        }
        return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="RS256")

    make.fetched = fetched  # type: ignore[attr-defined]
    return make


def test_entra_access_token_is_accepted_with_its_roles(client, entra):
    response = ApiClient(client, entra()).get("/users")
    assert response.status_code == 200, response.content
    identity = ExternalIdentity.objects.get(subject="99999999-8888-7777-6666-555555555555")
    assert RoleAssignment.objects.filter(user=identity.user, role=R.GLOBAL_ADMINISTRATOR).exists()
    assert entra.fetched == [f"https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"]


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "api://someone-else"}, "audience"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"iss": "https://login.microsoftonline.com/evil/v2.0"}, "issuer"),
        ({"tid": "00000000-0000-0000-0000-000000000000"}, "tenant"),
    ],
)
def test_entra_tokens_with_wrong_claims_are_401(client, entra, claims, reason):
    error = assert_graph_error(ApiClient(client, entra(**claims)).get("/users"), 401)
    assert reason in error["message"].lower()


def test_entra_token_signed_by_another_key_is_401(client, entra):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(jwt.decode(entra(), options={"verify_signature": False}), other, algorithm="RS256")
    error = assert_graph_error(ApiClient(client, forged).get("/users"), 401)
    assert "signature" in error["message"].lower()


def test_entra_tokens_refused_when_sign_in_is_not_configured(client, settings):
    settings.ENTRA_CLIENT_ID = ""
    token = jwt.encode({"sub": "x"}, "k" * 32, algorithm="HS256")
    error = assert_graph_error(ApiClient(client, token).get("/users"), 401)
    assert "not configured" in error["message"]


# --- the token page and the command --------------------------------------------------------------------


def test_token_page_shows_a_new_token_once(client, django_user_model):
    user = django_user_model.objects.create_user("pat")
    RoleAssignment.objects.create(user=user, role=R.APPLICATION_ADMINISTRATOR)
    client.force_login(user)
    page = client.post("/api/tokens/", {"name": "nightly sync", "days": 7})
    assert page.status_code == 200 and page["Cache-Control"] == "no-store"
    plain = page.context["plain"]
    assert plain.startswith("ppt_") and plain in page.content.decode()
    assert plain not in client.get("/api/tokens/").content.decode()  # never again
    assert ApiClient(Client(), plain).get("/servicePrincipals").status_code == 200
    token = ApiToken.objects.get(user=user)
    assert token.name == "nightly sync" and (token.expires_at - timezone.now()).days in (6, 7)
    revoked = client.post(f"/api/tokens/{token.pk}/revoke/")
    assert revoked.status_code == 302
    assert_graph_error(ApiClient(Client(), plain).get("/servicePrincipals"), 401)


def test_token_page_needs_a_role(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get("/api/tokens/").status_code == 403
    assert not ApiToken.objects.exists()


def test_token_page_cannot_revoke_someone_elses_token(client, django_user_model, make_token):
    make_token(R.GLOBAL_ADMINISTRATOR)
    other = ApiToken.objects.get()
    user = django_user_model.objects.create_user("pat")
    RoleAssignment.objects.create(user=user, role=R.APPLICATION_ADMINISTRATOR)
    client.force_login(user)
    assert client.post(f"/api/tokens/{other.pk}/revoke/").status_code == 404
    other.refresh_from_db()
    assert other.revoked_at is None


def test_api_token_command_prints_only_the_token(client, django_user_model):
    out, err = io.StringIO(), io.StringIO()
    call_command(
        "api_token",
        "--user",
        "ci-bot",
        "--role",
        "application_administrator",
        "--expires",
        "3",
        stdout=out,
        stderr=err,
    )
    plain = out.getvalue().strip()
    assert plain.startswith("ppt_") and "\n" not in plain
    assert "Created portal user ci-bot" in err.getvalue()
    assert ApiClient(client, plain).get("/servicePrincipals").status_code == 200
    assert ApiToken.objects.get().expires_at < timezone.now() + dt.timedelta(days=3, minutes=1)


def test_api_token_command_refuses_unknown_users_and_bad_expiry(django_user_model):
    with pytest.raises(CommandError, match="No portal user"):
        call_command("api_token", "--user", "ghost")
    with pytest.raises(CommandError, match="--expires"):
        call_command("api_token", "--user", "ghost", "--role", "reports_reader", "--expires", "0")
    django_user_model.objects.create_user("plain")
    with pytest.raises(CommandError, match="no portal role"):
        call_command("api_token", "--user", "plain")


OTHER_TENANT = "22222222-3333-4444-5555-666666666666"


def test_a_multi_tenant_portal_refuses_tokens_of_tenants_not_allowed(client, entra, settings):
    settings.ENTRA_TENANT_ID = "organizations"
    settings.ENTRA_ALLOWED_TENANTS = [TENANT]
    foreign = entra(tid=OTHER_TENANT, iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0")
    error = assert_graph_error(ApiClient(client, foreign).get("/users"), 401)
    assert "tenant this portal does not trust" in error["message"]
    assert not ExternalIdentity.objects.exists()


def test_wids_of_an_allowed_tenant_that_is_not_home_grant_nothing(client, entra, settings):
    settings.ENTRA_TENANT_ID = "organizations"
    settings.ENTRA_ALLOWED_TENANTS = [TENANT, OTHER_TENANT]
    settings.ENTRA_HOME_TENANT_ID = TENANT
    guest_admin = entra(tid=OTHER_TENANT, iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0")
    assert_graph_error(ApiClient(client, guest_admin).get("/users"), 403)  # a Global Admin over there
    assert not RoleAssignment.objects.filter(user__external_identities__issuer=OTHER_TENANT).exists()
    home_admin = entra(oid="12121212-3434-5656-7878-909090909090")
    assert ApiClient(client, home_admin).get("/users").status_code == 200
