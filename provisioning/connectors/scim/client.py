"""Building the HTTP + SCIM client of one target: URL, credentials, pool, timeouts.

One pooled ``httpx2.Client`` per target (keep-alive, bounded by ``max_connections``), wrapped in
scim2-client's ``SyncSCIMClient`` with our static models (``ScimUser[EnterpriseUser]``, ``Group``) and a
lenient policy (custom extension attributes are kept, not refused). Discovery of ``/Schemas`` is not
needed to provision and is left to Test Connection: many targets publish broken schemas.

Credentials are an ``httpx2.Auth``: a static bearer token (Entra's "Secret Token"), or an OAuth 2.0
access token — from the client-credentials grant, or from a refresh token that Authorize obtained
(authorization code + PKCE) — fetched from the token endpoint, cached, refreshed ``refresh_margin``
seconds before it expires and refreshed once more if the target answers 401 (a revoked or rotated token).
Secrets are never part of a repr, a message or a log record.
"""

from __future__ import annotations

import os
import ssl
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any, Union
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx2
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_models import (
    BulkOperation,
    BulkRequest,
    BulkResponse,
    EnterpriseUser,
    Group,
    ListResponse,
    PatchOp,
    ResourceType,
    ScimProvider,
)

from ..outbound import NOT_ALLOWED_MESSAGE, is_refusal, policy_transport
from .errors import ErrorCode, TargetError, make_error, unauthorized
from .paths import LENIENT_POLICY, GroupModel, ScimUser, UserModel

__all__ = [
    "DEFAULT_USER_AGENT",
    "AuthorizationRequest",
    "BearerToken",
    "OAuth2ClientCredentials",
    "OAuth2RefreshToken",
    "TenantUrl",
    "authorization_request",
    "build_http_client",
    "build_scim_client",
    "exchange_code",
    "make_auth",
    "parse_tenant_url",
    "tls_verify",
]

DEFAULT_USER_AGENT = "provisioning-portal-scim/0.1"


@dataclass(frozen=True)
class TenantUrl:
    """The SCIM base URL and the Entra flags written into its query string (``?aadOptscim062020``)."""

    base_url: str
    flags: frozenset[str] = frozenset()


def parse_tenant_url(url: str) -> TenantUrl:
    """Validate a tenant URL and split off its query flags; ValueError when it cannot be a SCIM base URL."""
    text = (url or "").strip()
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(
            "The tenant URL must be an absolute http(s) URL, e.g. https://app.example.com/scim/v2"
        )
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError("The tenant URL has an invalid port") from exc
    if parts.username or parts.password:
        raise ValueError("Put credentials in the secret token, not in the tenant URL")
    flags = frozenset(key for key, _ in parse_qsl(parts.query, keep_blank_values=True))
    base = urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))
    return TenantUrl(base, flags)


class BearerToken(httpx2.Auth):
    """A static bearer token (Entra's "Secret Token")."""

    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "BearerToken(***)"


@dataclass
class OAuth2ClientCredentials(httpx2.Auth):
    """OAuth 2.0 client-credentials grant (RFC 6749 §4.4), token cached until ``refresh_margin`` before expiry.

    ``auth_method`` is ``client_secret_basic`` (HTTP Basic, the RFC default) or ``client_secret_post``.
    A token response without ``expires_in`` is assumed to live ``default_lifetime`` seconds.
    """

    token_url: str
    client_id: str
    client_secret: str = field(repr=False)
    scope: str | None = None
    audience: str | None = None
    auth_method: str = "client_secret_basic"
    refresh_margin: float = 60.0
    default_lifetime: float = 3600.0
    timeout: float = 10.0
    verify: bool | str = True
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._client: httpx2.Client | None = None
        self.fetch_count = 0

    def __repr__(self) -> str:
        return (
            f"OAuth2ClientCredentials(token_url={self.token_url!r}, client_id={self.client_id!r}, secret=***)"
        )

    # -- token cache --------------------------------------------------------------------------------

    def token(self, *, stale: str | None = None) -> str:
        """A valid access token; fetched when missing, near expiry, or still equal to a refused ``stale`` one.

        Threads share one token; the lock makes one of them fetch while the others wait for it.
        """
        with self._lock:
            fresh = self._token is not None and self.clock() < self._expires_at - self.refresh_margin
            if not fresh or (stale is not None and self._token == stale):
                self._fetch()
            assert self._token is not None
            return self._token

    def _grant(self) -> dict[str, str]:
        """The token request's grant parameters."""
        data = {"grant_type": "client_credentials"}
        if self.scope:
            data["scope"] = self.scope
        if self.audience:
            data["audience"] = self.audience
        return data

    def _fetch(self) -> None:
        started = self.clock()
        body = self._post(self._grant())
        try:
            lifetime = float(body.get("expires_in") or self.default_lifetime)
        except (TypeError, ValueError):
            lifetime = self.default_lifetime
        self._token = str(body["access_token"])
        self._expires_at = started + lifetime
        self._accepted(body)

    def _accepted(self, body: dict[str, Any]) -> None:
        """Hook: a token response was accepted (the refresh-token grant keeps the rotated token)."""

    def _post(self, data: dict[str, str]) -> dict[str, Any]:
        """POST to the token endpoint with the client's authentication; the JSON answer, or a TargetError."""
        auth: Any = None
        if self.auth_method == "client_secret_post" or not self.client_secret:
            # A public client (no secret) identifies itself in the body, as RFC 6749 §3.2.1 asks.
            data = {**data, "client_id": self.client_id}
            if self.client_secret:
                data["client_secret"] = self.client_secret
        else:
            auth = httpx2.BasicAuth(self.client_id, self.client_secret)
        if self._client is None:
            self._client = httpx2.Client(
                timeout=self.timeout, transport=policy_transport(verify=tls_verify(self.verify))
            )
        try:
            response = self._client.post(
                self.token_url, data=data, auth=auth, headers={"Accept": "application/json"}
            )
        except httpx2.TimeoutException as exc:
            raise make_error(
                ErrorCode.TIMEOUT, f"The token endpoint did not answer in time ({type(exc).__name__})."
            ) from exc
        except httpx2.HTTPError as exc:
            if is_refusal(exc):
                raise make_error(
                    ErrorCode.DESTINATION_NOT_ALLOWED, f"Token endpoint not contacted: {NOT_ALLOWED_MESSAGE}."
                ) from exc
            raise make_error(
                ErrorCode.CONNECTION_FAILED, f"Could not reach the token endpoint ({type(exc).__name__})."
            ) from exc
        self.fetch_count += 1
        if response.status_code >= 500:
            raise make_error(
                ErrorCode.INTERNAL_SERVER_ERROR,
                f"The token endpoint answered HTTP {response.status_code}.",
                http_status=response.status_code,
            )
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
            error = body.get("error") if isinstance(body, dict) else None
            raise self._refused(response.status_code, error if isinstance(error, str) else None)
        return body

    def _refused(self, status: int, error: str | None) -> TargetError:
        return unauthorized(
            f"The token endpoint refused the client credentials (HTTP {status}{f', {error}' if error else ''}).",
            http_status=status,
        )

    # -- httpx2.Auth --------------------------------------------------------------------------------

    def auth_flow(self, request: httpx2.Request) -> Generator[httpx2.Request, httpx2.Response, None]:
        token = self.token()
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            # The target refused a token we thought valid (revoked, rotated key): fetch a new one once.
            # Safe for any method: a 401 means the request was not processed.
            request.headers["Authorization"] = f"Bearer {self.token(stale=token)}"
            yield request

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


@dataclass(repr=False)
class OAuth2RefreshToken(OAuth2ClientCredentials):
    """Access tokens from a refresh token granted through Authorize (RFC 6749 §6), refreshed as they expire.

    An app may rotate the refresh token on every refresh: the new one is handed to ``on_rotate`` (which
    stores it, encrypted) and used from then on. ``latest`` reads the stored token before each refresh, so
    a worker whose copy another worker already rotated does not present a spent token. ``invalid_grant``
    (the grant expired or was revoked) is an :data:`ErrorCode.INVALID_GRANT` failure: only a new Authorize
    can fix it.
    """

    refresh_token: str = field(default="", repr=False)
    on_rotate: Callable[[str], None] | None = field(default=None, repr=False)
    latest: Callable[[], str] | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return f"OAuth2RefreshToken(token_url={self.token_url!r}, client_id={self.client_id!r}, secret=***)"

    def _grant(self) -> dict[str, str]:
        if self.latest is not None:
            self.refresh_token = self.latest() or self.refresh_token
        if not self.refresh_token:
            raise make_error(
                ErrorCode.INVALID_GRANT,
                "No authorization is stored: nobody has signed in to the application with Authorize yet.",
            )
        data = {"grant_type": "refresh_token", "refresh_token": self.refresh_token}
        if self.scope:
            data["scope"] = self.scope
        return data

    def _accepted(self, body: dict[str, Any]) -> None:
        rotated = body.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != self.refresh_token:
            self.refresh_token = rotated
            if self.on_rotate is not None:
                self.on_rotate(rotated)

    def _refused(self, status: int, error: str | None) -> TargetError:
        if error == "invalid_grant":
            return make_error(
                ErrorCode.INVALID_GRANT,
                "The authorization given with Authorize has expired or was revoked in the application "
                f"(the token endpoint answered HTTP {status}, invalid_grant).",
                http_status=status,
            )
        return unauthorized(
            f"The token endpoint refused the client or the refresh token (HTTP {status}"
            f"{f', {error}' if error else ''}).",
            http_status=status,
        )


@dataclass(frozen=True)
class AuthorizationRequest:
    """What Authorize sends the admin's browser to, and what the callback needs to finish (kept server-side)."""

    url: str
    state: str
    code_verifier: str = field(repr=False)


def authorization_request(
    authorize_url: str, client_id: str, redirect_uri: str, scope: str | None = None
) -> AuthorizationRequest:
    """The authorization-code request with a random ``state`` and a PKCE S256 challenge (RFC 7636)."""
    state = generate_token(32)
    verifier = generate_token(64)
    extra: dict[str, str] = {}
    if "openid" in (scope or "").split():
        # An OpenID Connect server may insist on a nonce; the portal reads no ID token, so any will do.
        extra["nonce"] = generate_token(32)
    url = prepare_grant_uri(
        authorize_url,
        client_id,
        "code",
        redirect_uri=redirect_uri,
        scope=scope or None,
        state=state,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
        **extra,
    )
    return AuthorizationRequest(url, state, verifier)


def exchange_code(
    oauth: OAuth2ClientCredentials, code: str, redirect_uri: str, code_verifier: str
) -> dict[str, Any]:
    """Trade the callback's code for tokens at ``oauth.token_url`` (with the PKCE verifier)."""
    try:
        return oauth._post(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )
    finally:
        oauth.close()


def make_auth(token: str | None = None, oauth: OAuth2ClientCredentials | None = None) -> httpx2.Auth | None:
    """The Auth for a target: OAuth wins over a static token; None sends no Authorization header."""
    if oauth is not None:
        return oauth
    if token:
        return BearerToken(token)
    return None


def tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """``True``/``False``, or a CA bundle file/directory turned into an SSL context (httpx2 deprecates paths)."""
    if isinstance(verify, str):
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    return verify


def build_http_client(
    base_url: str,
    *,
    auth: httpx2.Auth | None,
    timeout: float,
    max_connections: int,
    verify: bool | str = True,
    user_agent: str = DEFAULT_USER_AGENT,
    transport: httpx2.BaseTransport | None = None,
    event_hooks: dict[str, list[Callable[..., Any]]] | None = None,
) -> httpx2.Client:
    """The pooled client of one target: every timeout (connect/read/write/pool) is ``timeout`` seconds.

    Without an explicit ``transport`` (tests pass one) every connection obeys the outbound policy.
    """
    limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    if transport is None:
        transport = policy_transport(verify=tls_verify(verify), limits=limits)
    return httpx2.Client(
        base_url=base_url,
        auth=auth,
        timeout=httpx2.Timeout(timeout),
        limits=limits,
        headers={"User-Agent": user_agent},
        transport=transport,
        follow_redirects=False,
        event_hooks=event_hooks or {},
    )


def build_scim_client(http_client: httpx2.Client) -> SyncSCIMClient:
    """scim2-client over our models: User with the enterprise extension at /Users, Group at /Groups."""
    provider = ScimProvider(
        models=[ScimUser, EnterpriseUser, Group],
        resource_types=[ResourceType.from_resource(UserModel), ResourceType.from_resource(GroupModel)],
        policy=LENIENT_POLICY,
    )
    client = SyncSCIMClient(http_client, provider=provider)
    _keep_message_classes(client._composed_models)
    return client


# Parametrised message classes (``ListResponse[User | Group]``, ``BulkRequest[User]``, ...) kept alive
# for the life of the process. Pydantic caches a parametrised generic only weakly, so the classes that
# scim2-client and the connector build for every query and Bulk request were garbage-collected and built
# again each time: 6-9 ms of class creation per request, a third of a page's CPU. Built once here
# with the very parameters scim2-client uses (the union of the composed models, and each model alone),
# every later subscription is a cache hit. Bounded: one set per distinct model tuple.
_MESSAGE_CLASSES: dict[tuple[type, ...], list[type]] = {}


def _keep_message_classes(models: tuple[type, ...]) -> None:
    if models in _MESSAGE_CLASSES:
        return
    union: Any = Union[tuple(models)]  # noqa: UP007 (scim2-client's own spelling, so the cache key matches)
    kept: list[type] = [ListResponse[union], BulkRequest[union], BulkResponse[union], BulkOperation[union]]
    for model in models:
        kept += [ListResponse[model], BulkRequest[model], BulkOperation[model], PatchOp[model]]
    _MESSAGE_CLASSES[models] = kept
