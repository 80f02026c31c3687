"""Who is calling and may they: bearer tokens (personal API tokens or Entra access tokens) and roles.

Every operation declares the capability it needs (``requires(Capability.X)``). The check runs as
ninja's authentication step, *before* the request body or query is read, so a caller without the
right role learns nothing from validation messages: a reader's POST is a 403, whatever it sends.
Capabilities come from ``portal.accounts.roles.has_capability`` — the same answer the pages get —
and owners of an application pass on that application's operations (``app=True``).

Two kinds of bearer token are accepted:

* personal API tokens (``ppt_…``, see ``portal.api.models``), looked up by their SHA-256;
* when Microsoft sign-in is configured (``ENTRA_*``), Entra access tokens issued *for this portal*
  (audience = ``ENTRA_CLIENT_ID`` or ``api://<client id>``, or ``ENTRA_API_AUDIENCE``): the signature
  is checked against the tenant's JWKS with PyJWT, then issuer, tenant, expiry; the user and their
  roles come from the claims exactly as at an interactive sign-in.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.conf import settings
from django.http import HttpRequest
from ninja.security import HttpBearer

from portal.accounts.roles import OWNER_CAPABILITIES, Capability, has_capability, owned_application_ids
from portal.api.errors import ApiError, forbidden
from portal.api.models import TOKEN_PREFIX, ApiToken, hash_token

log = logging.getLogger(__name__)

MAX_TOKEN_LENGTH = 8192
ACCEPTED_ALGORITHMS = ["RS256"]


def unauthorized(message: str) -> ApiError:
    return ApiError(401, message, code="InvalidAuthenticationToken")


# --- personal API tokens -----------------------------------------------------------------------------


def user_from_api_token(token: str) -> Any:
    """The active user behind a personal token; 401 (saying why) for anything else."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise unauthorized("Access token validation failure: not a token of this portal.")
    found = ApiToken.objects.select_related("user").filter(token_hash=hash_token(token)).first()
    if found is None:
        raise unauthorized("Access token validation failure: the token is not valid.")
    if found.is_revoked:
        raise unauthorized(
            f"The API token '{found.name}' was revoked on {found.revoked_at:%Y-%m-%d %H:%M} UTC."
        )
    if found.is_expired:
        raise unauthorized(
            f"The API token '{found.name}' expired on {found.expires_at:%Y-%m-%d %H:%M} UTC. Create a new one."
        )
    if not found.user.is_active:
        raise unauthorized("The account this API token belongs to is disabled.")
    found.touch()
    return found.user


# --- Entra access tokens -------------------------------------------------------------------------------

_jwks_lock = threading.Lock()
_jwks_clients: dict[str, jwt.PyJWKClient] = {}


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def _ssl_context(config: Any) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=config.ca_bundle) if config.ca_bundle else None


def _discovery(config: Any) -> dict[str, Any]:
    """The OpenID configuration of a non-Entra provider (ENTRA_OIDC_AUTHORITY)."""
    url = f"{config.oidc_authority.rstrip('/')}/.well-known/openid-configuration"
    with urllib.request.urlopen(url, timeout=config.timeout, context=_ssl_context(config)) as response:
        return json.loads(response.read())


def issuers_and_jwks(config: Any, tenant: str) -> tuple[set[str], str]:
    """The issuers a token of ``tenant`` may carry, and where the signing keys are published."""
    if config.oidc_authority:
        discovery = _discovery(config)
        return {str(discovery["issuer"])}, str(discovery["jwks_uri"])
    authority = config.authority_url.rstrip("/")
    parts = urlsplit(authority)
    host = f"{parts.scheme}://{parts.netloc}"
    issuers = {f"{host}/{tenant}/v2.0", f"https://sts.windows.net/{tenant}/"}
    return issuers, f"{authority}/discovery/v2.0/keys"


def signing_key(token: str, jwks_uri: str, config: Any) -> Any:
    """The public key that signed ``token``, from the provider's JWKS (cached per URL by PyJWT)."""
    with _jwks_lock:
        client = _jwks_clients.get(jwks_uri)
        if client is None:
            client = jwt.PyJWKClient(
                jwks_uri,
                cache_keys=True,
                lifespan=3600,
                timeout=int(config.timeout),
                ssl_context=_ssl_context(config),
            )
            _jwks_clients[jwks_uri] = client
    return client.get_signing_key_from_jwt(token).key


def audiences(config: Any) -> list[str]:
    extra = settings.ENTRA_API_AUDIENCE
    values = [config.client_id, f"api://{config.client_id}"]
    if extra:
        values.insert(0, extra)
    return values


def user_from_entra_token(token: str) -> Any:
    """Validate an Entra access token for this portal and return its (created or updated) user."""
    from portal.accounts import msal_auth

    config = msal_auth.entra_config()
    if not (config.client_id and (config.tenant_id or config.authority or config.oidc_authority)):
        raise unauthorized("Entra access tokens are not accepted: Microsoft sign-in is not configured.")
    try:
        unverified = jwt.decode(token, options={"verify_signature": False})
        tenant = str(unverified.get("tid") or config.tenant_id)
        expected_tenant = config.tenant_id.lower()
        if config.multi_tenant:
            if tenant.lower() not in config.trusted_tenants:
                raise unauthorized(
                    "Access token validation failure: the token is from a tenant this portal does not trust."
                )
        elif expected_tenant and tenant.lower() != expected_tenant:
            raise unauthorized("Access token validation failure: the token is from another tenant.")
        issuers, jwks_uri = issuers_and_jwks(config, tenant)
        key = signing_key(token, jwks_uri, config)
        claims = jwt.decode(
            token,
            key,
            algorithms=ACCEPTED_ALGORITHMS,
            audience=audiences(config),
            leeway=msal_auth.CLOCK_SKEW,
            options={"require": ["exp", "iss", "aud"]},
        )
    except ApiError:
        raise
    except jwt.PyJWTError as exc:
        raise unauthorized(f"Access token validation failure: {exc}") from None
    except (OSError, ValueError, KeyError) as exc:  # the keys or discovery document could not be fetched
        log.warning("Entra access token: cannot fetch the signing keys: %s", exc)
        raise unauthorized(
            "Access token validation failure: the signing keys could not be fetched."
        ) from None
    if claims.get("iss") not in issuers:
        raise unauthorized("Access token validation failure: the issuer is not this portal's tenant.")
    try:
        msal_auth.check_tenant(claims, config)
    except msal_auth.SignInError as exc:
        raise unauthorized(f"Access token validation failure: {exc.message}") from None
    if not (claims.get("oid") or claims.get("sub")):
        raise unauthorized("Access token validation failure: the token names no user.")
    roles = msal_auth.roles_from_claims(claims, config)
    return msal_auth.user_from_claims(claims, roles)


# --- the check every operation runs ----------------------------------------------------------------------


def authenticate(request: HttpRequest) -> Any:
    """The user the ``Authorization`` header proves, or a 401 explaining what is wrong with it."""
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise unauthorized("Access token is empty. Send Authorization: Bearer <token>.")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise unauthorized("Access token validation failure: use the Bearer scheme.")
    if len(token) > MAX_TOKEN_LENGTH or not token.isascii() or not token.isprintable():
        raise unauthorized("Access token validation failure: malformed token.")
    user = user_from_entra_token(token) if _looks_like_jwt(token) else user_from_api_token(token)
    request.user = user
    return user


def application_in_path(request: HttpRequest) -> Any:
    """The application (service principal) ``{id}`` in the URL names, cached on the request."""
    if hasattr(request, "graph_application"):
        return request.graph_application
    from portal.api.service_principals import find_application

    match = getattr(request, "resolver_match", None)
    raw = (match.kwargs if match else {}).get("id")
    application = find_application(raw) if raw is not None else None
    request.graph_application = application
    return application


class BearerToken(HttpBearer):
    """Bearer authentication plus the capability an operation needs (see ``requires``).

    ``app=True``: the URL's ``{id}`` is a service principal and its owners pass. ``owner_list=True``: a
    list that owners of at least one app may read (they see their own apps only).
    """

    def __init__(self, capability: Capability, *, app: bool = False, owner_list: bool = False) -> None:
        super().__init__()
        self.capability = Capability(capability)
        self.app = app
        self.owner_list = owner_list

    def __call__(self, request: HttpRequest) -> Any:
        user = authenticate(request)
        application = application_in_path(request) if self.app else None
        if has_capability(user, self.capability, application):
            return user
        if self.owner_list and self.capability in OWNER_CAPABILITIES and owned_application_ids(user):
            return user
        raise forbidden(
            f"Insufficient privileges to complete the operation: it needs the '{self.capability}' permission, "
            "which the roles of this token's user do not include."
        )

    def authenticate(self, request: HttpRequest, token: str) -> Any:  # pragma: no cover - __call__ does it
        return None


def requires(capability: Capability, *, app: bool = False, owner_list: bool = False) -> BearerToken:
    """The ``auth=`` of an operation: a bearer token whose user may do ``capability``."""
    return BearerToken(capability, app=app, owner_list=owner_list)
