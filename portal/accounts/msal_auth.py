"""Sign-in with Microsoft Entra ID: msal's authorization-code flow, and users and roles from the ID token.

The flow (``initiate_auth_code_flow`` → provider → ``acquire_token_by_auth_code_flow``) lives in the
session between the two legs; msal checks ``state`` and the nonce, adds PKCE, and the token cache is kept
(encrypted) in the session so sign-out can drop it. msal 1.38+ no longer validates the ID token, so the
audience, expiry and tenant are checked here; its signature is not, which OpenID Connect Core (3.1.3.7,
step 6) allows for a token received directly from the token endpoint over server-verified TLS.

Everything is configured from the environment (see portal/settings.py, ``ENTRA_*``).
"""

from __future__ import annotations

import logging
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal import crypto
from portal.accounts.roles import DIRECTORY_ROLE_TEMPLATES, PortalRole, parse_role

log = logging.getLogger(__name__)

FLOW_KEY = "entra_auth_flow"
NEXT_KEY = "entra_next"
CACHE_KEY = "entra_token_cache"
CLOCK_SKEW = 300  # seconds of clock difference tolerated on exp/iat/nbf
_MULTI_TENANT = {"common", "organizations", "consumers"}


class SignInError(Exception):
    """A Microsoft sign-in that must not open a session; ``message`` is safe to show."""

    def __init__(self, message: str, *, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class EntraConfig:
    """The ``ENTRA_*`` settings, read once per use so tests can override them."""

    tenant_id: str = ""
    client_id: str = ""
    client_secret: str = ""
    certificate_path: str = ""
    certificate_password: str = ""
    redirect_uri: str = ""
    authority: str = ""
    oidc_authority: str = ""
    instance_discovery: bool = True
    scopes: tuple[str, ...] = ()
    ca_bundle: str = ""
    role_mapping: dict[str, tuple[PortalRole, ...]] = field(default_factory=dict)
    use_directory_roles: bool = True
    timeout: float = 10.0
    allowed_tenants: tuple[str, ...] = ()  # lower-case tenant ids (or issuers of a non-Entra provider)
    home_tenant: str = ""

    @property
    def enabled(self) -> bool:
        """Configured enough to offer "Sign in with Microsoft"."""
        has_credential = bool(self.client_secret or self.certificate_path)
        has_authority = bool(self.tenant_id or self.authority or self.oidc_authority)
        return bool(self.client_id) and has_credential and has_authority

    @property
    def authority_url(self) -> str:
        return self.authority or f"https://login.microsoftonline.com/{self.tenant_id}"

    @property
    def multi_tenant(self) -> bool:
        """The authority signs in accounts of any tenant (``common``, ``organizations``, ``consumers``)."""
        segments = [
            urlsplit(a).path.strip("/").split("/")[0] for a in (self.authority, self.oidc_authority) if a
        ]
        return any(name.lower() in _MULTI_TENANT for name in [self.tenant_id, *segments] if name)

    @property
    def trusted_tenants(self) -> frozenset[str]:
        """Tenants whose accounts may sign in: ENTRA_ALLOWED_TENANTS, plus ENTRA_TENANT_ID when it names one."""
        tenants = set(self.allowed_tenants)
        if self.tenant_id and self.tenant_id.lower() not in _MULTI_TENANT:
            tenants.add(self.tenant_id.lower())
        return frozenset(tenants)

    @property
    def home(self) -> str:
        """The tenant whose directory roles (``wids``) count: ENTRA_HOME_TENANT_ID, else ENTRA_TENANT_ID."""
        if self.home_tenant:
            return self.home_tenant.lower()
        return self.tenant_id.lower() if self.tenant_id.lower() not in _MULTI_TENANT else ""


def parse_role_mapping(raw: Any) -> dict[str, tuple[PortalRole, ...]]:
    """``{"<group object id or app role value>": "Application Administrator" | [roles...]}`` → roles.

    Fails loudly (ImproperlyConfigured) on an unknown role name, so a typo does not silently grant or
    withhold access.
    """
    if not raw:
        return {}
    if not isinstance(raw, dict):
        raise ImproperlyConfigured("ENTRA_ROLE_MAPPING must be a JSON object: claim value → portal role(s)")
    mapping: dict[str, tuple[PortalRole, ...]] = {}
    for claim_value, roles in raw.items():
        names = [roles] if isinstance(roles, str) else list(roles)
        try:
            mapping[str(claim_value)] = tuple(parse_role(name) for name in names)
        except ValueError as exc:
            raise ImproperlyConfigured(f"ENTRA_ROLE_MAPPING[{claim_value!r}]: {exc}") from exc
    return mapping


def entra_config() -> EntraConfig:
    """The current configuration from Django settings."""
    s = settings
    return EntraConfig(
        tenant_id=getattr(s, "ENTRA_TENANT_ID", ""),
        client_id=getattr(s, "ENTRA_CLIENT_ID", ""),
        client_secret=getattr(s, "ENTRA_CLIENT_SECRET", ""),
        certificate_path=getattr(s, "ENTRA_CLIENT_CERTIFICATE_PATH", ""),
        certificate_password=getattr(s, "ENTRA_CLIENT_CERTIFICATE_PASSWORD", ""),
        redirect_uri=getattr(s, "ENTRA_REDIRECT_URI", ""),
        authority=getattr(s, "ENTRA_AUTHORITY", ""),
        oidc_authority=getattr(s, "ENTRA_OIDC_AUTHORITY", ""),
        instance_discovery=getattr(s, "ENTRA_INSTANCE_DISCOVERY", True),
        scopes=tuple(getattr(s, "ENTRA_SCOPES", ())),
        ca_bundle=getattr(s, "ENTRA_CA_BUNDLE", ""),
        role_mapping=parse_role_mapping(getattr(s, "ENTRA_ROLE_MAPPING", {})),
        use_directory_roles=getattr(s, "ENTRA_USE_DIRECTORY_ROLES", True),
        timeout=getattr(s, "ENTRA_HTTP_TIMEOUT", 10.0),
        allowed_tenants=tuple(
            str(t).strip().lower() for t in getattr(s, "ENTRA_ALLOWED_TENANTS", ()) if str(t).strip()
        ),
        home_tenant=getattr(s, "ENTRA_HOME_TENANT_ID", ""),
    )


def token_tenant(claims: dict[str, Any]) -> str:
    """The tenant a token speaks for: Entra's ``tid``; for another OpenID provider, its issuer."""
    return str(claims.get("tid") or claims.get("iss") or "").lower()


def check_tenant(claims: dict[str, Any], config: EntraConfig, issuer: str | None = None) -> None:
    """Refuse a token from a tenant this portal does not trust, or whose issuer is not its tenant's.

    A single-tenant authority only issues tokens of its tenant; a multi-tenant one (``common``,
    ``organizations``) issues them for any tenant, so only those on ENTRA_ALLOWED_TENANTS pass.
    ``issuer`` is the provider's discovered issuer (Entra's multi-tenant one has a ``{tenantid}``
    placeholder): the token's ``iss`` must be exactly it, for the token's own tenant.
    """
    tenant = token_tenant(claims)
    tid = str(claims.get("tid") or "").lower()
    if config.multi_tenant:
        if not config.trusted_tenants:
            raise SignInError(
                _("Sign-in with a multi-tenant authority needs ENTRA_ALLOWED_TENANTS; nobody is trusted yet.")
            )
        if tenant not in config.trusted_tenants:
            raise SignInError(
                _("This account belongs to an Entra tenant this portal does not trust."),
                detail=f"tenant={tenant}",
            )
    elif config.tenant_id and tid and tid != config.tenant_id.lower():
        raise SignInError(
            _("This account belongs to another Entra tenant."),
            detail=f"tid={claims['tid']}",
        )
    iss = str(claims.get("iss") or "")
    if issuer and iss:
        expected = issuer.replace("{tenantid}", tid) if "{tenantid}" in issuer else issuer
        if iss.rstrip("/") != expected.rstrip("/"):
            raise SignInError(
                _("The ID token was issued by another tenant or provider."),
                detail=f"iss={iss}",
            )
    if tid and iss and _issuer_tenant(iss) not in ("", tid):
        raise SignInError(
            _("The ID token's issuer is not its tenant's."),
            detail=f"iss={iss} tid={tid}",
        )


def _issuer_tenant(iss: str) -> str:
    """The tenant id in an Entra issuer (``https://login.microsoftonline.com/<tid>/v2.0``,
    ``https://sts.windows.net/<tid>/``); "" for an issuer that names none."""
    first = urlsplit(iss).path.strip("/").split("/")[0].lower()
    return first if len(first) == 36 and first.count("-") == 4 else ""


def client_credential(config: EntraConfig) -> str | dict[str, Any]:
    """A client secret, or a certificate: a .pfx/.p12 file, or a PEM file holding key and certificate."""
    if config.client_secret:
        return config.client_secret
    path = Path(config.certificate_path)
    if path.suffix.lower() in {".pfx", ".p12"}:
        credential: dict[str, Any] = {"private_key_pfx_path": str(path)}
        if config.certificate_password:
            credential["passphrase"] = config.certificate_password
        return credential
    pem = path.read_text()
    begin_cert = pem.find("-----BEGIN CERTIFICATE-----")
    if begin_cert < 0 or "PRIVATE KEY-----" not in pem:
        raise ImproperlyConfigured(
            "ENTRA_CLIENT_CERTIFICATE_PATH must be a .pfx/.p12 file or a PEM file with the private key "
            "and the certificate"
        )
    end = pem.find("-----END CERTIFICATE-----", begin_cert) + len("-----END CERTIFICATE-----")
    credential = {"private_key": pem, "public_certificate": pem[begin_cert:end]}
    if config.certificate_password:
        credential["passphrase"] = config.certificate_password
    return credential


def http_session(config: EntraConfig) -> requests.Session:
    """The HTTP client msal uses. With ENTRA_CA_BUNDLE it trusts exactly that bundle: ``trust_env`` is
    off, since a machine-wide REQUESTS_CA_BUNDLE would otherwise override ``verify``."""
    session = requests.Session()
    if config.ca_bundle:
        session.verify = config.ca_bundle
        session.trust_env = False
    return session


def build_client(
    config: EntraConfig, cache: msal.SerializableTokenCache | None = None
) -> msal.ConfidentialClientApplication:
    """A ConfidentialClientApplication for this config (it fetches the OpenID configuration)."""
    kwargs: dict[str, Any] = {
        "client_credential": client_credential(config),
        "token_cache": cache,
        "http_client": http_session(config),
        "timeout": config.timeout,
    }
    if config.oidc_authority:
        kwargs["oidc_authority"] = config.oidc_authority
    else:
        kwargs["authority"] = config.authority_url
        if not config.instance_discovery:
            kwargs["instance_discovery"] = False
    try:
        return msal.ConfidentialClientApplication(config.client_id, **kwargs)
    except (ValueError, requests.RequestException) as exc:
        log.warning("Microsoft sign-in: cannot use the authority: %s", exc)
        raise SignInError(
            _("Microsoft Entra ID cannot be reached right now. Try again in a moment."), detail=str(exc)
        ) from exc


def redirect_uri(request: HttpRequest, config: EntraConfig) -> str:
    """ENTRA_REDIRECT_URI (must match the app registration exactly), else this site's callback URL."""
    from django.urls import reverse

    return config.redirect_uri or request.build_absolute_uri(reverse("microsoft_callback"))


def remember_tokens(request: HttpRequest, cache: msal.SerializableTokenCache) -> None:
    """Keep msal's token cache in the (just signed-in) session, encrypted like every secret at rest."""
    if cache.has_state_changed:
        request.session[CACHE_KEY] = crypto.encrypt(cache.serialize())


def load_tokens(request: HttpRequest) -> msal.SerializableTokenCache:
    """The session's token cache (for later Graph calls); empty when there is none or it is unreadable."""
    cache = msal.SerializableTokenCache()
    stored = request.session.get(CACHE_KEY)
    if stored:
        try:
            cache.deserialize(crypto.decrypt(stored))
        except ValueError:
            request.session.pop(CACHE_KEY, None)
    return cache


def clear_token_cache(request: HttpRequest) -> None:
    """Forget the tokens msal obtained for this session (called at sign-out)."""
    request.session.pop(CACHE_KEY, None)
    request.session.pop(FLOW_KEY, None)
    request.session.pop(NEXT_KEY, None)


def start_sign_in(request: HttpRequest, next_url: str = "") -> str:
    """Begin the authorization-code flow; returns the provider URL to redirect the browser to."""
    config = entra_config()
    client = build_client(config)
    with warnings.catch_warnings():
        # msal suggests form_post; we keep query on purpose: a cross-site POST callback would not carry
        # the SameSite=Lax session cookie that holds the flow, and PKCE + a confidential client already
        # make a leaked code useless.
        warnings.filterwarnings("ignore", message="response_mode='form_post' is recommended")
        flow = client.initiate_auth_code_flow(
            list(config.scopes), redirect_uri=redirect_uri(request, config), response_mode="query"
        )
    request.session[FLOW_KEY] = flow
    request.session[NEXT_KEY] = next_url
    return flow["auth_uri"]


@dataclass
class SignInResult:
    user: Any
    next_url: str
    tokens: msal.SerializableTokenCache


def complete_sign_in(request: HttpRequest) -> SignInResult:
    """Finish the flow from the callback's query string: the user, where to go next, and the tokens
    (a fresh cache: a new sign-in never inherits another identity's tokens; the caller stores it in the
    session once the user is signed in, with ``remember_tokens``).

    The flow is single-use: it is removed from the session whatever happens, so a replayed or
    tampered callback finds nothing to complete.
    """
    flow = request.session.pop(FLOW_KEY, None)
    next_url = request.session.pop(NEXT_KEY, "")
    if not flow:
        raise SignInError(_("This sign-in has expired or was started in another browser. Sign in again."))
    config = entra_config()
    cache = msal.SerializableTokenCache()
    client = build_client(config, cache)
    auth_response = request.GET.dict()
    try:
        result = client.acquire_token_by_auth_code_flow(flow, auth_response)
    except ValueError as exc:  # state mismatch, or neither code nor error in the response
        log.warning("Microsoft sign-in refused: %s", exc)
        raise SignInError(
            _(
                "The sign-in response did not match the sign-in this browser started (state mismatch). "
                "Nothing was signed in."
            ),
            detail=str(exc),
        ) from exc
    except RuntimeError as exc:  # the ID token's nonce is not ours: a replayed or injected token
        log.warning("Microsoft sign-in refused: %s", exc)
        raise SignInError(
            _("The ID token was not issued for this sign-in (nonce mismatch). Nothing was signed in."),
            detail=str(exc),
        ) from exc
    except requests.RequestException as exc:
        log.warning("Microsoft sign-in: the token endpoint cannot be reached: %s", exc)
        raise SignInError(
            _("Microsoft Entra ID cannot be reached right now. Try again in a moment."), detail=str(exc)
        ) from exc
    if "error" in result:
        log.warning(
            "Microsoft sign-in refused by the provider: %s %s",
            result["error"],
            result.get("error_description", ""),
        )
        raise SignInError(
            _("Microsoft Entra ID did not sign you in."),
            detail=f"{result.get('error')}: {result.get('error_description', '')}".strip(": "),
        )
    claims = result.get("id_token_claims") or {}
    validate_claims(claims, config, issuer=getattr(client.authority, "_issuer", None))
    roles = roles_from_claims(claims, config)
    return SignInResult(user_from_claims(claims, roles), next_url, cache)


def validate_claims(
    claims: dict[str, Any], config: EntraConfig, now: float | None = None, issuer: str | None = None
) -> None:
    """Audience, lifetime, tenant and issuer of the ID token — what msal no longer checks."""
    now = time.time() if now is None else now
    if not claims:
        raise SignInError(_("The provider returned no ID token."))
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if config.client_id not in audiences:
        raise SignInError(
            _("The ID token was issued to another application."),
            detail=f"aud={audience!r}",
        )
    if float(claims.get("exp", 0)) + CLOCK_SKEW < now:
        raise SignInError(_("The ID token has expired. Sign in again."))
    if float(claims.get("nbf", claims.get("iat", now))) - CLOCK_SKEW > now:
        raise SignInError(_("The ID token is not valid yet; check this server's clock."))
    check_tenant(claims, config, issuer)
    if not (claims.get("oid") or claims.get("sub")):
        raise SignInError(_("The ID token names no user (no oid or sub claim)."))


def roles_from_claims(claims: dict[str, Any], config: EntraConfig) -> set[PortalRole]:
    """Portal roles from the ``roles`` (app roles) and ``groups`` claims via ENTRA_ROLE_MAPPING, and from
    ``wids`` (Entra directory role template ids) when ENTRA_USE_DIRECTORY_ROLES is on and the token is
    from the home tenant (a Global Administrator of another tenant is nobody here)."""
    roles: set[PortalRole] = set()
    for claim in ("roles", "groups"):
        values = claims.get(claim) or []
        for value in [values] if isinstance(values, str) else values:
            roles.update(config.role_mapping.get(str(value), ()))
    # wids are the directory roles a user holds *in the token's tenant*: only the home tenant's count
    if config.use_directory_roles and config.home and token_tenant(claims) == config.home:
        for wid in claims.get("wids") or []:
            if role := DIRECTORY_ROLE_TEMPLATES.get(str(wid).lower()):
                roles.add(role)
    if "groups" in (claims.get("_claim_names") or {}):
        log.warning(
            "Microsoft sign-in of %s: the groups claim overflowed (more than the token can carry); "
            "map app roles instead, or limit the claim to groups assigned to the application",
            claims.get("preferred_username") or claims.get("oid"),
        )
    return roles


def _identity_key(claims: dict[str, Any]) -> tuple[str, str]:
    """(issuer, subject): Entra's (tid, oid) — stable across renames — else the OpenID (iss, sub)."""
    if claims.get("oid") and claims.get("tid"):
        return str(claims["tid"]).lower(), str(claims["oid"]).lower()
    return str(claims.get("iss", "")), str(claims.get("oid") or claims["sub"])


def _free_username(wanted: str, subject: str) -> str:
    """``wanted`` when no other account has it; never adopt an existing local account by name."""
    user_model = get_user_model()
    wanted = (wanted or subject)[:150]
    if not user_model.objects.filter(username=wanted).exists():
        return wanted
    return f"{wanted[:140]}+{subject[:8]}"


def user_from_claims(claims: dict[str, Any], roles: set[PortalRole]) -> Any:
    """Create or update the portal user linked to this identity, and set their Entra-sourced roles."""
    from portal.accounts.models import ExternalIdentity, RoleAssignment, RoleSource
    from portal.accounts.roles import forget

    user_model = get_user_model()
    issuer, subject = _identity_key(claims)
    upn = str(claims.get("preferred_username") or claims.get("upn") or claims.get("email") or "")
    now = timezone.now()
    with transaction.atomic():
        identity = (
            ExternalIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None:
            user = user_model(username=_free_username(upn, subject))
            user.set_unusable_password()  # a Microsoft identity never signs in with a local password
            user.save()
            identity = ExternalIdentity.objects.create(user=user, issuer=issuer, subject=subject)
            log.info("Microsoft sign-in: created portal user %s for %s", user.username, upn or subject)
        user = identity.user
        given, family = claims.get("given_name"), claims.get("family_name")
        user.first_name = str(given or claims.get("name") or "")[:150]
        user.last_name = str(family or "")[:150] if given else ""
        email = claims.get("email") or (upn if "@" in upn else "")
        user.email = str(email)[:254]
        user.last_login = now
        user.save(update_fields=["first_name", "last_name", "email", "last_login"])
        identity.preferred_username = upn[:255]
        identity.last_sign_in_at = now
        identity.save(update_fields=["preferred_username", "last_sign_in_at"])
        held = RoleAssignment.objects.filter(user=user, source=RoleSource.ENTRA)
        held.exclude(role__in=[r.value for r in roles]).delete()
        existing = set(held.values_list("role", flat=True))
        RoleAssignment.objects.bulk_create(
            RoleAssignment(user=user, role=role, source=RoleSource.ENTRA)
            for role in roles
            if role.value not in existing
        )
    forget(user)
    return user


def check_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """System check: a broken ENTRA_* configuration is reported at startup, not at the first sign-in."""
    messages: list[checks.CheckMessage] = []
    try:
        config = entra_config()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="accounts.E001")]
    if config.client_id and not config.enabled:
        messages.append(
            checks.Warning(
                "ENTRA_CLIENT_ID is set but Sign in with Microsoft is off: it also needs ENTRA_CLIENT_SECRET "
                "or ENTRA_CLIENT_CERTIFICATE_PATH, and ENTRA_TENANT_ID or an authority.",
                id="accounts.W001",
            )
        )
    if config.enabled and config.multi_tenant and not config.trusted_tenants:
        messages.append(
            checks.Error(
                "ENTRA_TENANT_ID (or the authority) is multi-tenant (common/organizations/consumers) but "
                "ENTRA_ALLOWED_TENANTS is empty: any Entra tenant's accounts could sign in. List the tenant "
                "ids to trust in ENTRA_ALLOWED_TENANTS.",
                id="accounts.E004",
            )
        )
    if config.certificate_path and not Path(config.certificate_path).is_file():
        messages.append(
            checks.Error(
                f"ENTRA_CLIENT_CERTIFICATE_PATH {config.certificate_path} is not a file", id="accounts.E002"
            )
        )
    if not settings.LOCAL_ACCOUNTS_ENABLED and not config.enabled:
        messages.append(
            checks.Error(
                "LOCAL_ACCOUNTS_ENABLED is false and Sign in with Microsoft is not configured: nobody can sign in.",
                id="accounts.E003",
            )
        )
    return messages
