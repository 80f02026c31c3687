"""Admin credentials of a provisioning job: validation, fingerprint, Test Connection and its verdict.

Why a fingerprint: provisioning may only be switched On with credentials that passed Test
Connection. The job stores an HMAC-SHA256 of what was tested (never the secret); Save compares it
with the fingerprint of the credentials being saved, so a token changed after the test is caught.

Secrets leave this module only towards the target (the probe's HTTP client). Every message built
here is scrubbed of them, whatever the connector returns.
"""

from __future__ import annotations

import importlib
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import salted_hmac

from provisioning.models import AuthMethod, ProvisioningJob

__all__ = [
    "Credentials",
    "TestVerdict",
    "credentials_tested",
    "describe_result",
    "matching_attribute",
    "oauth_client",
    "record_test",
    "refresh_token_store",
    "run_test",
    "validate_url",
]

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_FINGERPRINT_SALT = "provisioning.credentials.fingerprint"


def validate_url(value: str, what: str = "tenant URL") -> str | None:
    """The reason ``value`` can't be used as an http(s) endpoint, or None when it can.

    Single-label hosts (``http://scim-target:8080/scim``) and IP addresses are allowed: targets on an
    internal network are common for self-hosted apps.
    """
    text = value.strip()
    example = (
        "https://app.example.com/scim/v2"
        if what == "tenant URL"
        else "https://login.example.com/oauth2/token"
    )
    if any(c.isspace() for c in text):
        return f"The {what} can't contain spaces."
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return f"Enter the {what} as an absolute http:// or https:// URL, for example {example}."
    if parts.username is not None or parts.password is not None:
        return f"Don't put a user name or password in the {what}; use the secret fields."
    try:
        port = parts.port
    except ValueError:
        return f"The port in the {what} is not a number between 0 and 65535."
    host = parts.hostname or ""
    if not host:
        return f"The {what} has no host name."
    if port == 0:
        return f"The port in the {what} is not a number between 1 and 65535."
    if parts.fragment:
        return f"The {what} can't have a #fragment."
    try:
        ipaddress.ip_address(host)
    except ValueError:
        labels = host.rstrip(".").split(".")
        if not all(_HOST_LABEL.match(label) for label in labels):
            return f"“{host}” is not a valid host name."
    return None


@dataclass(frozen=True)
class Credentials:
    """What Test Connection and the engine need to reach the target. ``repr`` never shows secrets."""

    auth_method: str = AuthMethod.BEARER
    tenant_url: str = ""
    secret_token: str = field(default="", repr=False)
    oauth_token_url: str = ""
    oauth_client_id: str = ""
    oauth_client_secret: str = field(default="", repr=False)
    oauth_scope: str = ""
    oauth_authorize_url: str = ""
    oauth_refresh_token: str = field(default="", repr=False)  # set by Authorize's callback, never typed in

    FIELDS = (
        "auth_method",
        "tenant_url",
        "secret_token",
        "oauth_token_url",
        "oauth_client_id",
        "oauth_client_secret",
        "oauth_scope",
        "oauth_authorize_url",
        "oauth_refresh_token",
    )
    SECRET_FIELDS = ("secret_token", "oauth_client_secret", "oauth_refresh_token")

    @classmethod
    def from_job(cls, job: ProvisioningJob) -> Credentials:
        return cls(**{name: getattr(job, name) or "" for name in cls.FIELDS})

    def with_changes(self, **entered: str) -> Credentials:
        """These credentials with the entered values; a blank secret keeps the stored one."""
        values = {k: (v or "").strip() for k, v in entered.items() if k in self.FIELDS}
        for name in self.SECRET_FIELDS:
            if not values.get(name):
                values.pop(name, None)
        return replace(self, **values)

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == AuthMethod.OAUTH_CLIENT_CREDENTIALS

    @property
    def uses_authorization_code(self) -> bool:
        return self.auth_method == AuthMethod.OAUTH_AUTHORIZATION_CODE

    @property
    def secrets(self) -> list[str]:
        return [s for s in (self.secret_token, self.oauth_client_secret, self.oauth_refresh_token) if s]

    def fingerprint(self) -> str:
        """HMAC-SHA256 (keyed by SECRET_KEY) of everything that decides where and as whom we connect.

        The refresh token is left out: the application rotates it on every refresh.
        """
        if self.uses_authorization_code:
            parts = [
                self.auth_method,
                self.tenant_url,
                self.oauth_authorize_url,
                self.oauth_token_url,
                self.oauth_client_id,
                self.oauth_client_secret,
                self.oauth_scope,
            ]
        elif self.uses_oauth:
            parts = [
                self.auth_method,
                self.tenant_url,
                self.oauth_token_url,
                self.oauth_client_id,
                self.oauth_client_secret,
                self.oauth_scope,
            ]
        else:
            parts = [self.auth_method, self.tenant_url, self.secret_token]
        return salted_hmac(_FINGERPRINT_SALT, "\x00".join(parts), algorithm="sha256").hexdigest()

    def missing(self) -> dict[str, str]:
        """Required inputs that are blank, by form field name, with the message to show there."""
        errors: dict[str, str] = {}
        if not self.tenant_url:
            errors["tenant_url"] = "Enter the tenant URL (the SCIM endpoint of the application)."
        if self.uses_oauth:
            if not self.oauth_token_url:
                errors["oauth_token_url"] = (
                    "Enter the token endpoint for the OAuth 2 client credentials grant."
                )
            if not self.oauth_client_id:
                errors["oauth_client_id"] = "Enter the client identifier."
            if not self.oauth_client_secret:
                errors["oauth_client_secret"] = "Enter the client secret."
        if self.uses_authorization_code:
            errors.update(self.missing_for_authorize())
            if not errors and not self.oauth_refresh_token:
                errors["auth_method"] = (
                    "Select Authorize and sign in to the application: no authorization is stored yet."
                )
        return errors

    def missing_for_authorize(self) -> dict[str, str]:
        """What Authorize needs before it can send the admin to the application's sign-in page."""
        errors: dict[str, str] = {}
        if not self.oauth_authorize_url:
            errors["oauth_authorize_url"] = "Enter the application's authorization endpoint."
        if not self.oauth_token_url:
            errors["oauth_token_url"] = "Enter the application's token endpoint."
        if not self.oauth_client_id:
            errors["oauth_client_id"] = "Enter the client identifier the application gave this portal."
        return errors

    def scrub(self, text: Any) -> Any:
        """``text`` (or a nested dict/list of text) with any secret replaced by ``***``."""
        if isinstance(text, str):
            for secret in self.secrets:
                text = text.replace(secret, "***")
            return text
        if isinstance(text, dict):
            return {self.scrub(k): self.scrub(v) for k, v in text.items()}
        if isinstance(text, list | tuple):
            return [self.scrub(v) for v in text]
        return text


def credentials_tested(job: ProvisioningJob, credentials: Credentials | None = None) -> bool:
    """Whether ``credentials`` (default: the job's saved ones) are exactly what last passed the test."""
    credentials = credentials or Credentials.from_job(job)
    return bool(
        job.credentials_tested_at
        and job.credentials_fingerprint
        and job.credentials_fingerprint == credentials.fingerprint()
    )


def matching_attribute(job: ProvisioningJob) -> str:
    """The user mapping's matching attribute (precedence 1): what Test Connection filters on."""
    for mapping in job.object_mappings.all():
        if mapping.source_object != "User":
            continue
        for attribute in mapping.attribute_mappings:
            if attribute.get("matchingPrecedence") == 1:
                return attribute["target"]
    return "userName"


@dataclass(frozen=True)
class TestVerdict:
    """A Test Connection result as the page shows it: a headline, the diagnosis and what to do."""

    ok: bool
    code: str
    title: str
    message: str
    hint: str = ""
    supports: tuple[str, ...] = ()
    resource_types: tuple[str, ...] = ()
    latency_ms: float | None = None

    __test__ = False  # not a pytest class despite its name


_TITLES = {
    "connected": ("Connection successful", ""),
    "invalid_token": (
        "Invalid token",
        "The application rejected the credentials. Check that the secret token (or client id and secret) "
        "is current and belongs to an account with admin rights in the application.",
    ),
    "connection_refused": (
        "Connection refused",
        "Nothing accepts connections at that address. Check the host and port of the tenant URL and that "
        "the application's SCIM service is running.",
    ),
    "dns_failure": ("Host not found", "The host name in the tenant URL doesn't resolve. Check its spelling."),
    "tls_error": (
        "TLS certificate problem",
        "The application's HTTPS certificate isn't trusted for this host name. It must be valid, unexpired "
        "and issued by a trusted authority.",
    ),
    "timeout": (
        "Timed out",
        "The application didn't answer in time. Check that the URL is reachable from this server "
        "(firewall, proxy) and try again.",
    ),
    "not_scim": (
        "Not a SCIM endpoint",
        "Something answered, but not SCIM 2.0. The tenant URL usually ends with /scim/v2 or /scim.",
    ),
    "unexpected_status": (
        "Unexpected response",
        "The application answered the test query with an unexpected HTTP status. Check the tenant URL and "
        "the application's SCIM logs.",
    ),
    "authorization_expired": (
        "Authorization expired or revoked",
        "The sign-in given with Authorize is no longer valid (it expired, or was revoked in the "
        "application). Select Authorize, sign in to the application again, then Test Connection.",
    ),
    "invalid_url": ("Invalid tenant URL", "Correct the tenant URL and test again."),
    "filter_ignored": (
        "Filter not supported",
        "The application ignores SCIM filters, so users can't be matched safely. Ask the vendor to "
        "support filtering on the matching attribute.",
    ),
    "connection_failed": (
        "Connection failed",
        "Check the tenant URL and the network path to the application.",
    ),
    "unavailable": ("Test Connection unavailable", "The SCIM connector is not installed on this server."),
}


def describe_result(result: Any, credentials: Credentials) -> TestVerdict:
    """Turn the probe's ``ConnectionTestResult`` into what the admin reads, scrubbed of secrets."""
    code = str(getattr(result, "code", "connection_failed"))
    title, hint = _TITLES.get(code, ("Connection failed", _TITLES["connection_failed"][1]))
    details = credentials.scrub(dict(getattr(result, "details", None) or {}))
    supports: list[str] = []
    capabilities = details.get("capabilities") or {}
    if isinstance(capabilities, dict):
        bulk_max = capabilities.get("bulk_max_operations")
        filter_max = capabilities.get("filter_max_results")
        labels = [
            ("patch", "PATCH"),
            ("bulk", f"Bulk (up to {bulk_max} operations)" if bulk_max else "Bulk"),
            ("filter", f"Filtering (up to {filter_max} results)" if filter_max else "Filtering"),
            ("etag", "ETags"),
            ("sort", "Sorting"),
            ("change_password", "Password change"),
        ]
        supports = [label for key, label in labels if capabilities.get(key)]
    resource_types = tuple(
        str(rt.get("name"))
        for rt in details.get("resource_types") or []
        if isinstance(rt, dict) and rt.get("name")
    )
    return TestVerdict(
        ok=bool(getattr(result, "ok", False)),
        code=code,
        title=title,
        message=credentials.scrub(str(getattr(result, "message", ""))),
        hint=hint,
        supports=tuple(supports),
        resource_types=resource_types,
        latency_ms=details.get("latency_ms"),
    )


def oauth_client(
    credentials: Credentials,
    *,
    timeout: float = 10.0,
    on_rotate: Callable[[str], None] | None = None,
    latest: Callable[[], str] | None = None,
) -> Any:
    """The connector's OAuth ``httpx2.Auth`` for these credentials (None for a bearer token).

    ``on_rotate`` stores a refresh token the application rotated; ``latest`` reads the stored one.
    """
    if not (credentials.uses_oauth or credentials.uses_authorization_code):
        return None
    client = importlib.import_module("provisioning.connectors.scim.client")
    common = {
        "verify": getattr(settings, "PROVISIONING_OAUTH_CA_BUNDLE", "") or True,
        "token_url": credentials.oauth_token_url,
        "client_id": credentials.oauth_client_id,
        "client_secret": credentials.oauth_client_secret,
        "scope": credentials.oauth_scope or None,
        "timeout": timeout,
    }
    if credentials.uses_authorization_code:
        return client.OAuth2RefreshToken(
            **common, refresh_token=credentials.oauth_refresh_token, on_rotate=on_rotate, latest=latest
        )
    return client.OAuth2ClientCredentials(**common)


def refresh_token_store(job_id: int) -> tuple[Callable[[str], None], Callable[[], str]]:
    """(store, read) of a job's refresh token, encrypted at rest by its field."""

    def store(token: str) -> None:
        ProvisioningJob.objects.filter(pk=job_id).update(oauth_refresh_token=token)

    def read() -> str:
        job = ProvisioningJob.objects.only("oauth_refresh_token").filter(pk=job_id).first()
        return job.oauth_refresh_token if job else ""

    return store, read


def run_test(
    credentials: Credentials,
    *,
    matching: str = "userName",
    timeout: float = 10,
    job_id: int | None = None,
) -> TestVerdict:
    """Probe the target the way Entra's Test Connection does and describe the outcome.

    With ``job_id``, a refresh token the application rotates during the test is stored for that job.
    """
    try:
        probe = importlib.import_module("provisioning.connectors.scim.probe")
    except ImportError:
        return describe_result(_Unavailable(), credentials)
    store = refresh_token_store(job_id)[0] if job_id is not None else None
    oauth = oauth_client(credentials, timeout=timeout, on_rotate=store)
    result = probe.test_connection(
        credentials.tenant_url,
        token=None if oauth is not None else (credentials.secret_token or None),
        oauth=oauth,
        matching_attribute=matching,
        timeout=timeout,
    )
    return describe_result(result, credentials)


@dataclass
class _Unavailable:
    ok: bool = False
    code: str = "unavailable"
    message: str = "The SCIM connector module (provisioning.connectors.scim.probe) is not installed."
    details: dict[str, Any] = field(default_factory=dict)


def record_test(job: ProvisioningJob, credentials: Credentials, verdict: TestVerdict) -> None:
    """Remember a pass (time + fingerprint); a failure of the remembered credentials forgets them."""
    fingerprint = credentials.fingerprint()
    if verdict.ok:
        job.credentials_tested_at = timezone.now()
        job.credentials_fingerprint = fingerprint
    elif job.credentials_fingerprint == fingerprint:
        job.credentials_tested_at = None
        job.credentials_fingerprint = ""
    else:
        return
    job.save(update_fields=["credentials_tested_at", "credentials_fingerprint"])
    if verdict.ok and fingerprint == Credentials.from_job(job).fingerprint():
        # The stored credentials work again: a credentials quarantine ends now, as in Entra.
        from provisioning import quarantine

        quarantine.leave_if(job, "EncounteredQuarantineException")
