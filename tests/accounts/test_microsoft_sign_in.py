"""Sign-in with Microsoft, end to end, against a real OpenID Connect provider running locally.

The portal's own code runs unchanged: msal (``ConfidentialClientApplication``) discovers the provider,
builds the authorization request (state, nonce, PKCE), and exchanges the code at the token endpoint over
TLS. The "browser" is a requests session that signs in at the provider's real login and password pages
and answers its consent page; the Django test client plays the portal's side of the same browser.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from portal.accounts import msal_auth
from portal.accounts.models import ExternalIdentity, RoleAssignment, RoleSource
from portal.accounts.roles import PortalRole
from tests.fixtures.oidc import CALLBACK, CLIENT_ID, ProviderBrowser

pytestmark = pytest.mark.django_db


def _start(client: Client, next_url: str = "/") -> str:
    response = client.get(reverse("microsoft_sign_in"), {"next": next_url})
    assert response.status_code == 302, response.content[:500]
    return response["Location"]


def _callback(client: Client, url: str):
    parts = urlsplit(url)
    return client.get(parts.path, dict(parse_qs(parts.query)))


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return urlunsplit(parts._replace(query=urlencode(query)))


def _signed_in_user(client: Client) -> Any:
    user_id = client.session.get("_auth_user_id")
    return get_user_model().objects.get(pk=user_id) if user_id else None


@pytest.fixture(params=["authority", "oidc_authority"])
def configured(request, entra_settings, oidc_provider):
    """Both ways to point msal at an authority: Entra-style ``authority=`` with instance discovery off
    (what a sovereign cloud or test tenant uses) and a generic ``oidc_authority``."""
    if request.param == "oidc_authority":
        entra_settings.ENTRA_AUTHORITY = ""
        entra_settings.ENTRA_OIDC_AUTHORITY = oidc_provider.authority
    entra_settings.ENTRA_ROLE_MAPPING = {"portal-app-admins": "Application Administrator"}
    return entra_settings


def test_sign_in_with_microsoft_end_to_end(configured, oidc_provider, make_person, client):
    person = make_person("portal-app-admins")
    # An anonymous visit lands on the sign-in page, which offers Microsoft and keeps the destination.
    response = client.get(reverse("audit_log"))
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert 'href="/accounts/microsoft/?next=/audit/"' in page

    authorize_url = _start(client, "/audit/")
    assert authorize_url.startswith(f"{oidc_provider.origin}/oauth/authorize?")
    request = parse_qs(urlsplit(authorize_url).query)
    assert request["client_id"] == [CLIENT_ID] and request["response_type"] == ["code"]
    assert request["code_challenge_method"] == ["S256"] and request["nonce"] and request["state"]
    assert request["redirect_uri"] == [CALLBACK]

    browser = ProviderBrowser(oidc_provider)
    callback_url = browser.authorize(authorize_url, person)
    assert browser.pages == ["login", "password", "consent"]  # the provider's real pages, in order
    assert "code" in parse_qs(urlsplit(callback_url).query)

    response = _callback(client, callback_url)
    assert response.status_code == 302 and response["Location"] == "/audit/"
    assert client.get("/audit/").status_code == 200

    user = _signed_in_user(client)
    assert user.username == person.upn
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    assert not user.has_usable_password()
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (oidc_provider.origin, person.login)
    assert list(RoleAssignment.objects.filter(user=user).values_list("role", "source")) == [
        (PortalRole.APPLICATION_ADMINISTRATOR, RoleSource.ENTRA)
    ]
    assert client.session[msal_auth.CACHE_KEY].startswith("fernet:")  # tokens kept encrypted
    assert msal_auth.FLOW_KEY not in client.session  # the flow is single-use


def test_signing_in_again_updates_the_user_and_the_entra_roles_only(
    configured, oidc_provider, make_person, client
):
    person = make_person("portal-app-admins")
    browser = ProviderBrowser(oidc_provider)
    _callback(client, browser.authorize(_start(client), person))
    user = _signed_in_user(client)
    RoleAssignment.objects.create(user=user, role=PortalRole.REPORTS_READER)  # given in the portal
    client.post(reverse("logout"))

    server = oidc_provider.server
    server.backend.update(person.account, groups=[], given_name="Augusta", formatted_name="Augusta Lovelace")
    server.backend.save(person.account)
    callback_url = browser.authorize(_start(client), person)  # still signed in there, consent given
    assert browser.pages == ["login", "password", "consent"]  # nothing asked the second time
    _callback(client, callback_url)

    again = _signed_in_user(client)
    assert again.pk == user.pk and again.first_name == "Augusta"
    assert get_user_model().objects.filter(username__startswith=person.login).count() == 1
    roles = set(RoleAssignment.objects.filter(user=again).values_list("role", "source"))
    assert roles == {(PortalRole.REPORTS_READER, RoleSource.LOCAL)}  # the group's role went with it


def test_a_tampered_state_is_refused(entra_settings, oidc_provider, make_person, client):
    person = make_person()
    callback_url = ProviderBrowser(oidc_provider).authorize(_start(client), person)
    response = _callback(client, _with_query(callback_url, state="forged-state"))
    assert response.status_code == 400
    assert b"state mismatch" in response.content and b'data-testid="sign-in-error"' in response.content
    assert _signed_in_user(client) is None
    assert not get_user_model().objects.filter(username=person.upn).exists()
    # The genuine response cannot be replayed afterwards: the flow was used up by the failed attempt.
    replay = _callback(client, callback_url)
    assert replay.status_code == 400 and b"has expired" in replay.content
    assert _signed_in_user(client) is None


def test_an_id_token_with_another_nonce_is_refused(entra_settings, oidc_provider, make_person, client):
    person = make_person()
    authorize_url = _start(client)
    session = client.session
    flow = session[msal_auth.FLOW_KEY]
    flow["nonce"] = "a-nonce-this-sign-in-never-sent"  # the token will carry the hash of the real one
    session[msal_auth.FLOW_KEY] = flow
    session.save()
    response = _callback(client, ProviderBrowser(oidc_provider).authorize(authorize_url, person))
    assert response.status_code == 400 and b"nonce mismatch" in response.content
    assert _signed_in_user(client) is None


def test_a_code_from_another_sign_in_is_refused(entra_settings, oidc_provider, make_person, client, caplog):
    """Code injection: the attacker's code pasted into the victim's callback fails PKCE at the provider."""
    victim_authorize = _start(client)
    victim_state = parse_qs(urlsplit(victim_authorize).query)["state"][0]
    attacker = Client()
    attacker_callback = ProviderBrowser(oidc_provider).authorize(
        _start(attacker), make_person(given="Mallory")
    )
    injected = _with_query(attacker_callback, state=victim_state)
    response = _callback(client, injected)
    assert response.status_code == 400 and b"did not sign you in" in response.content
    assert "invalid_grant Code challenge failed" in caplog.text  # PKCE: the verifier is not this flow's
    assert _signed_in_user(client) is None


def test_declining_consent_at_the_provider_explains_it(entra_settings, oidc_provider, make_person, client):
    callback_url = ProviderBrowser(oidc_provider).authorize(_start(client), make_person(), consent="deny")
    assert parse_qs(urlsplit(callback_url).query)["error"] == ["access_denied"]
    response = _callback(client, callback_url)
    assert response.status_code == 400 and b"did not sign you in" in response.content
    assert _signed_in_user(client) is None


def test_a_callback_nobody_started_is_refused(entra_settings, client):
    response = client.get(reverse("microsoft_callback"), {"code": "abc", "state": "xyz"})
    assert response.status_code == 400 and b"has expired" in response.content


def test_sign_out_clears_the_session_and_the_token_cache(entra_settings, oidc_provider, make_person, client):
    _callback(client, ProviderBrowser(oidc_provider).authorize(_start(client), make_person()))
    assert msal_auth.CACHE_KEY in client.session
    response = client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert msal_auth.CACHE_KEY not in client.session and "_auth_user_id" not in client.session
    assert client.get(reverse("home")).status_code == 302


def test_someone_without_a_mapped_group_signs_in_but_sees_no_admin_portal(
    configured, oidc_provider, make_person, client
):
    _callback(client, ProviderBrowser(oidc_provider).authorize(_start(client), make_person("sales")))
    response = client.get(reverse("home"))
    assert response.status_code == 403 and b"You hold no role in this portal" in response.content
    assert b"Sign out" in response.content


def test_a_local_account_with_the_same_name_is_never_taken_over(
    entra_settings, oidc_provider, make_person, client, django_user_model
):
    person = make_person()
    local_admin = django_user_model.objects.create_superuser(person.upn, "x@example.com", "pw")
    _callback(client, ProviderBrowser(oidc_provider).authorize(_start(client), person))
    user = _signed_in_user(client)
    assert user.pk != local_admin.pk and not user.is_superuser
    assert user.username == f"{person.upn}+{person.login[:8]}"


def test_microsoft_sign_in_works_with_local_accounts_turned_off(
    configured, oidc_provider, make_person, client
):
    configured.LOCAL_ACCOUNTS_ENABLED = False
    page = client.get(reverse("login")).content.decode()
    assert "Sign in with Microsoft" in page and 'name="password"' not in page
    _callback(
        client, ProviderBrowser(oidc_provider).authorize(_start(client), make_person("portal-app-admins"))
    )
    assert client.get(reverse("applications:app_list")).status_code == 200


def test_a_user_disabled_in_the_portal_cannot_sign_in_with_microsoft(
    entra_settings, oidc_provider, make_person, client
):
    person = make_person()
    browser = ProviderBrowser(oidc_provider)
    _callback(client, browser.authorize(_start(client), person))
    user = _signed_in_user(client)
    client.post(reverse("logout"))
    user.is_active = False
    user.save()
    response = _callback(client, browser.authorize(_start(client), person))
    assert response.status_code == 403 and b"disabled in the portal" in response.content
    assert _signed_in_user(client) is None


# ---- a multi-tenant authority trusts only the allowed tenants -----------------------------------------

ENTRA_TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"


def test_a_multi_tenant_authority_refuses_a_tenant_not_on_the_allow_list(
    configured, oidc_provider, make_person, client
):
    """The local provider's accounts are a tenant of their own (no ``tid``: its issuer is the tenant)."""
    configured.ENTRA_TENANT_ID = "organizations"
    configured.ENTRA_ALLOWED_TENANTS = [ENTRA_TENANT]  # some other tenant, not the provider's
    person = make_person("portal-app-admins")
    response = _callback(client, ProviderBrowser(oidc_provider).authorize(_start(client), person))
    assert response.status_code == 400
    assert b"tenant this portal does not trust" in response.content
    assert _signed_in_user(client) is None
    assert not ExternalIdentity.objects.exists() and not get_user_model().objects.exists()


def test_a_multi_tenant_authority_signs_in_an_allowed_tenant(configured, oidc_provider, make_person, client):
    configured.ENTRA_TENANT_ID = "organizations"
    configured.ENTRA_ALLOWED_TENANTS = [ENTRA_TENANT, oidc_provider.origin]
    person = make_person("portal-app-admins")
    response = _callback(client, ProviderBrowser(oidc_provider).authorize(_start(client), person))
    assert response.status_code == 302
    user = _signed_in_user(client)
    assert user.username == person.upn
    assert RoleAssignment.objects.filter(user=user, role=PortalRole.APPLICATION_ADMINISTRATOR).exists()
