"""From an ID token's claims to a portal user and roles; the configuration msal is given."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from portal.accounts import msal_auth
from portal.accounts.models import ExternalIdentity, RoleAssignment, RoleSource
from portal.accounts.msal_auth import EntraConfig, SignInError
from portal.accounts.roles import PortalRole
from tests.fixtures.certificates import self_signed

R = PortalRole
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OID = "00000000-0000-0000-66f3-3332eca7ea81"


def _claims(**extra):
    now = int(time.time())
    return {
        "aud": "client-1",
        "iss": f"https://login.microsoftonline.com/{TENANT}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "tid": TENANT,
        "oid": OID,
        "sub": "pairwise-subject",
        "preferred_username": "megan@contoso.example",
        "name": "Megan Bowen",
        **extra,
    }


def _config(**extra) -> EntraConfig:
    return EntraConfig(tenant_id=TENANT, client_id="client-1", client_secret="s", **extra)


# ---- roles from claims ----------------------------------------------------------------------------


def test_app_roles_and_groups_map_through_the_configured_mapping():
    mapping = msal_auth.parse_role_mapping(
        {
            "Portal.Admin": "Global Administrator",
            "b1e3c7a2-0000-4000-8000-000000000001": ["application_administrator", "Reports Reader"],
        }
    )
    config = _config(role_mapping=mapping)
    assert msal_auth.roles_from_claims(_claims(roles=["Portal.Admin"]), config) == {R.GLOBAL_ADMINISTRATOR}
    assert msal_auth.roles_from_claims(
        _claims(groups=["b1e3c7a2-0000-4000-8000-000000000001", "unmapped"]), config
    ) == {R.APPLICATION_ADMINISTRATOR, R.REPORTS_READER}
    assert msal_auth.roles_from_claims(_claims(roles=["portal.admin"]), config) == set()  # case matters


def test_entra_directory_roles_in_wids_count_unless_turned_off():
    claims = _claims(wids=["158C047A-C907-4556-B7EF-446551A6B5F7", "b79fbf4d-3ef9-4689-8143-76b194e85509"])
    assert msal_auth.roles_from_claims(claims, _config()) == {R.CLOUD_APPLICATION_ADMINISTRATOR}
    assert msal_auth.roles_from_claims(claims, _config(use_directory_roles=False)) == set()


def test_a_groups_overage_is_logged(caplog):
    claims = _claims(_claim_names={"groups": "src1"}, _claim_sources={"src1": {"endpoint": "x"}})
    assert msal_auth.roles_from_claims(claims, _config()) == set()
    assert "groups claim overflowed" in caplog.text


def test_a_mapping_naming_an_unknown_role_fails_loudly():
    with pytest.raises(ImproperlyConfigured, match="ENTRA_ROLE_MAPPING\\['g'\\]: Unknown portal role"):
        msal_auth.parse_role_mapping({"g": "Helpdesk Administrator"})
    with pytest.raises(ImproperlyConfigured, match="JSON object"):
        msal_auth.parse_role_mapping(["not", "a", "mapping"])


# ---- what msal no longer checks --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        (_claims(aud="someone-else"), "issued to another application"),
        (_claims(exp=int(time.time()) - 3600), "has expired"),
        (_claims(nbf=int(time.time()) + 3600), "not valid yet"),
        (_claims(tid="11111111-2222-3333-4444-555555555555"), "another Entra tenant"),
        ({**_claims(), "oid": None, "sub": None}, "names no user"),
        ({}, "no ID token"),
    ],
)
def test_bad_id_tokens_are_refused(claims, message):
    with pytest.raises(SignInError, match=message):
        msal_auth.validate_claims(claims, _config())


OTHER_TENANT = "11111111-2222-3333-4444-555555555555"
GLOBAL_ADMIN_WID = "62e90394-69f5-4237-9190-012177145e10"


def _from_other_tenant(**extra):
    return _claims(tid=OTHER_TENANT, iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0", **extra)


@pytest.mark.parametrize("authority", ["organizations", "common"])
def test_a_multi_tenant_authority_trusts_only_the_allowed_tenants(authority):
    config = EntraConfig(
        tenant_id=authority, client_id="client-1", client_secret="s", allowed_tenants=(TENANT,)
    )
    msal_auth.validate_claims(_claims(), config)
    with pytest.raises(SignInError, match="tenant this portal does not trust"):
        msal_auth.validate_claims(_from_other_tenant(), config)
    # without an allow-list nobody is trusted (and the system check refuses to start, see below)
    with pytest.raises(SignInError, match="needs ENTRA_ALLOWED_TENANTS"):
        msal_auth.validate_claims(_claims(), EntraConfig(tenant_id=authority, client_id="client-1"))


def test_a_multi_tenant_authority_url_counts_as_multi_tenant():
    config = EntraConfig(client_id="client-1", authority="https://login.microsoftonline.com/common")
    assert config.multi_tenant
    with pytest.raises(SignInError, match="needs ENTRA_ALLOWED_TENANTS"):
        msal_auth.validate_claims(_claims(), config)


def test_the_issuer_must_be_the_tokens_own_tenant():
    config = EntraConfig(
        tenant_id="organizations", client_id="client-1", allowed_tenants=(TENANT, OTHER_TENANT)
    )
    # tid says an allowed tenant, iss another one: not a token Entra issues
    with pytest.raises(SignInError, match="issuer is not its tenant"):
        msal_auth.validate_claims(
            _claims(iss=f"https://login.microsoftonline.com/{OTHER_TENANT}/v2.0"), config
        )
    # the discovered issuer of a multi-tenant authority is a template: filled with the token's tid
    template = "https://login.microsoftonline.com/{tenantid}/v2.0"
    msal_auth.validate_claims(_claims(), config, issuer=template)
    with pytest.raises(SignInError, match="issued by another tenant or provider"):
        msal_auth.validate_claims(_claims(iss="https://evil.example/v2.0"), config, issuer=template)


def test_wids_count_only_from_the_home_tenant():
    allowed = (TENANT, OTHER_TENANT)
    config = EntraConfig(tenant_id="organizations", client_id="client-1", allowed_tenants=allowed)
    # multi-tenant without ENTRA_HOME_TENANT_ID: no tenant's directory roles count
    assert msal_auth.roles_from_claims(_claims(wids=[GLOBAL_ADMIN_WID]), config) == set()
    config = EntraConfig(
        tenant_id="organizations", client_id="client-1", allowed_tenants=allowed, home_tenant=TENANT
    )
    assert msal_auth.roles_from_claims(_claims(wids=[GLOBAL_ADMIN_WID]), config) == {R.GLOBAL_ADMINISTRATOR}
    msal_auth.validate_claims(_from_other_tenant(), config)  # an allowed tenant signs in...
    assert (
        msal_auth.roles_from_claims(_from_other_tenant(wids=[GLOBAL_ADMIN_WID]), config) == set()
    )  # ...as nobody
    # single tenant: the tenant is home
    assert msal_auth.roles_from_claims(_claims(wids=[GLOBAL_ADMIN_WID]), _config()) == {
        R.GLOBAL_ADMINISTRATOR
    }


def test_a_multi_tenant_authority_without_an_allow_list_fails_the_system_check(settings):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    settings.ENTRA_TENANT_ID = "common"
    settings.ENTRA_CLIENT_ID = "client-1"
    settings.ENTRA_CLIENT_SECRET = "s"
    settings.ENTRA_ALLOWED_TENANTS = []
    with pytest.raises(SystemCheckError, match=r"accounts\.E004.*ENTRA_ALLOWED_TENANTS"):
        call_command("check")
    settings.ENTRA_ALLOWED_TENANTS = [TENANT]
    call_command("check")


# ---- users from claims -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_users_are_linked_by_tenant_and_object_id_not_by_name():
    user = msal_auth.user_from_claims(_claims(), {R.REPORTS_READER})
    assert user.username == "megan@contoso.example" and user.first_name == "Megan Bowen"
    assert user.email == "megan@contoso.example"
    identity = ExternalIdentity.objects.get(user=user)
    assert (identity.issuer, identity.subject) == (TENANT, OID)
    # Renamed in Entra (new UPN, new name): the same portal user, details refreshed, roles replaced.
    renamed = msal_auth.user_from_claims(
        _claims(preferred_username="megan.b@contoso.example", given_name="Megan", family_name="B."),
        {R.APPLICATION_ADMINISTRATOR},
    )
    assert renamed.pk == user.pk
    assert (renamed.first_name, renamed.last_name) == ("Megan", "B.")
    assert ExternalIdentity.objects.get(user=user).preferred_username == "megan.b@contoso.example"
    assert set(RoleAssignment.objects.filter(user=user).values_list("role", "source")) == {
        (R.APPLICATION_ADMINISTRATOR, RoleSource.ENTRA)
    }


@pytest.mark.django_db
def test_the_same_object_id_in_another_tenant_is_another_user():
    first = msal_auth.user_from_claims(_claims(), set())
    other = msal_auth.user_from_claims(_claims(tid="11111111-2222-3333-4444-555555555555"), set())
    assert first.pk != other.pk
    assert other.username.startswith("megan@contoso.example+")


# ---- msal's configuration --------------------------------------------------------------------------


def test_enabled_needs_a_client_a_credential_and_an_authority():
    assert not EntraConfig().enabled
    assert not EntraConfig(client_id="c", tenant_id="t").enabled  # no secret or certificate
    assert EntraConfig(client_id="c", tenant_id="t", client_secret="s").enabled
    assert EntraConfig(client_id="c", oidc_authority="https://idp", certificate_path="/k.pem").enabled
    assert EntraConfig(tenant_id="t").authority_url == "https://login.microsoftonline.com/t"


def _pem_key_and_certificate() -> str:
    certificate, key = self_signed()
    return key + certificate


def test_a_certificate_credential_from_a_pem_file(tmp_path):
    pem = tmp_path / "portal.pem"
    pem.write_text(_pem_key_and_certificate())
    credential = msal_auth.client_credential(EntraConfig(certificate_path=str(pem)))
    assert "PRIVATE KEY" in credential["private_key"]
    assert credential["public_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    assert credential["public_certificate"].endswith("-----END CERTIFICATE-----")
    pfx = msal_auth.client_credential(
        EntraConfig(certificate_path="/etc/portal.pfx", certificate_password="pw")
    )
    assert pfx == {"private_key_pfx_path": "/etc/portal.pfx", "passphrase": "pw"}
    key_only = tmp_path / "key.pem"
    key_only.write_text(_pem_key_and_certificate().split("-----BEGIN CERTIFICATE-----")[0])
    with pytest.raises(ImproperlyConfigured, match="private key and the certificate"):
        msal_auth.client_credential(EntraConfig(certificate_path=str(key_only)))


def test_a_private_ca_bundle_is_trusted_alone():
    session = msal_auth.http_session(EntraConfig(ca_bundle="/etc/ssl/private-ca.pem"))
    assert session.verify == "/etc/ssl/private-ca.pem" and session.trust_env is False
    assert msal_auth.http_session(EntraConfig()).trust_env is True


@pytest.mark.django_db
def test_an_unreachable_authority_is_explained_not_a_crash(settings, client):
    settings.ENTRA_TENANT_ID, settings.ENTRA_CLIENT_ID, settings.ENTRA_CLIENT_SECRET = "t", "c", "s"
    settings.ENTRA_AUTHORITY = "https://127.0.0.1:9/contoso"  # discard port: nothing listens
    settings.ENTRA_INSTANCE_DISCOVERY = False
    settings.ENTRA_HTTP_TIMEOUT = 2
    response = client.get(reverse("microsoft_sign_in"))
    assert response.status_code == 502 and b"cannot be reached" in response.content


@pytest.mark.django_db
def test_without_configuration_the_microsoft_links_lead_back_to_sign_in(client):
    for name in ("microsoft_sign_in", "microsoft_callback"):
        response = client.get(reverse(name))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_broken_entra_settings_are_reported_at_startup(settings):
    from portal.accounts.msal_auth import check_settings

    assert check_settings() == []
    settings.ENTRA_ROLE_MAPPING = {"g": "Helpdesk Administrator"}
    assert [m.id for m in check_settings()] == ["accounts.E001"]
    settings.ENTRA_ROLE_MAPPING = {}
    settings.ENTRA_CLIENT_ID = "c"
    settings.ENTRA_CLIENT_CERTIFICATE_PATH = "/nowhere/portal.pem"
    settings.LOCAL_ACCOUNTS_ENABLED = False
    assert [m.id for m in check_settings()] == ["accounts.W001", "accounts.E002", "accounts.E003"]
