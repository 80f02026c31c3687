"""Admin credentials of a provisioning job: validation, fingerprint, Test Connection and its verdict.

Why a fingerprint: provisioning may only be switched On with credentials that passed Test
Connection. The job stores an HMAC-SHA256 of what was tested (never the secret); Save compares it
with the fingerprint of the credentials being saved, so a token changed after the test is caught.

Secrets leave this module only towards the target (the probe's HTTP client). Every message built
here is scrubbed of them, whatever the connector returns.
"""

from __future__ import annotations

import ipaddress
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext, gettext_noop

from provisioning.connectors.scim import client as scim_client
from provisioning.connectors.scim import probe
from provisioning.models import AuthMethod, ProvisioningJob, QuarantineReason
from provisioning.redaction import redact

__all__ = [
    "Credentials",
    "TestVerdict",
    "credentials_tested",
    "describe_result",
    "matching_attribute",
    "oauth_client",
    "rate_limited_verdict",
    "record_test",
    "refresh_token_store",
    "run_connection_test",
    "secrets_to_retype",
    "test_connection_wait",
    "validate_url",
]

_HOST_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_FINGERPRINT_SALT = "provisioning.credentials.fingerprint"  # a stored value: never follows the module


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
        """These credentials with the entered values.

        A blank secret keeps the stored one, except the secret the method sends when its destination
        changed (see ``SECRET_DESTINATION``): that one is dropped, never carried along to the new
        destination, and ``secrets_to_retype`` tells the admin to type it again. (A stored secret the
        method doesn't send is kept: using it again means changing the method, which asks for it.)
        """
        values = _entered_values(entered)
        for name in self.SECRET_FIELDS:
            if not values.get(name):
                values.pop(name, None)
        merged = replace(self, **values)
        needed = merged.secret_field
        if needed not in values and _destination_changes(self, values, needed):
            merged = replace(merged, **{needed: ""})
        if merged.oauth_refresh_token and _destination_changes(self, values, "oauth_refresh_token"):
            merged = replace(merged, oauth_refresh_token="")  # the grant is only for where it was given
        return merged

    @property
    def uses_oauth(self) -> bool:
        return self.auth_method == AuthMethod.OAUTH_CLIENT_CREDENTIALS

    @property
    def secret_field(self) -> str:
        """The secret this authentication method sends (the other one, if stored, stays unused)."""
        return "oauth_client_secret" if self.uses_oauth or self.uses_authorization_code else "secret_token"

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
        return redact(text, self.secrets)


# Which entered fields decide where a secret goes: the bearer token travels to the tenant URL; the OAuth
# client secret to the token endpoint, and the access token bought with it to the tenant URL.
SECRET_DESTINATION = {
    "secret_token": ("auth_method", "tenant_url"),
    "oauth_client_secret": ("auth_method", "oauth_token_url", "tenant_url"),
    "oauth_refresh_token": ("auth_method", "oauth_token_url", "tenant_url", "oauth_client_id"),
}
_DESTINATION_LABELS = {
    "auth_method": "authentication method",
    "tenant_url": "tenant URL",
    "oauth_token_url": "token endpoint",
}
_SECRET_LABELS = {"secret_token": "secret token", "oauth_client_secret": "client secret"}


def _entered_values(entered: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v or "").strip() for k, v in entered.items() if k in Credentials.FIELDS}


def _destination_changes(stored: Credentials, values: Mapping[str, str], secret: str) -> list[str]:
    """The destination fields of ``secret`` whose entered value differs from the stored one."""
    return [f for f in SECRET_DESTINATION[secret] if f in values and values[f] != getattr(stored, f)]


def secrets_to_retype(stored: Credentials, entered: Mapping[str, Any]) -> dict[str, str]:
    """Stored secrets that must be typed again before ``entered`` can be used: ``{field: message}``.

    The rule the blade and the API share: a stored secret is never sent to a new destination. When the
    tenant URL, the token endpoint or the authentication method differs from what is stored, the
    secret the (new) method uses must be entered again; leaving it blank is an error on that field.
    """
    values = _entered_values(entered)
    merged = replace(stored, **{k: v for k, v in values.items() if k not in Credentials.SECRET_FIELDS})
    needed = merged.secret_field
    if values.get(needed) or not getattr(stored, needed):
        return {}
    changed = _destination_changes(stored, values, needed)
    if not changed:
        return {}
    what = " and ".join(_DESTINATION_LABELS[f] for f in changed)
    label = _SECRET_LABELS[needed]
    return {
        needed: f"The {what} changed: enter the {label} again. A stored {label} is never sent to a new "
        "destination."
    }


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
    "connected": (gettext_noop("Connection successful"), ""),
    "invalid_token": (
        gettext_noop("Invalid token"),
        gettext_noop(
            "The application rejected the credentials. Check that the secret token (or client id and secret) "
            "is current and belongs to an account with admin rights in the application."
        ),
    ),
    "connection_refused": (
        gettext_noop("Connection refused"),
        gettext_noop(
            "Nothing accepts connections at that address. Check the host and port of the tenant URL and that "
            "the application's SCIM service is running."
        ),
    ),
    "dns_failure": (
        gettext_noop("Host not found"),
        gettext_noop("The host name in the tenant URL doesn't resolve. Check its spelling."),
    ),
    "tls_error": (
        gettext_noop("TLS certificate problem"),
        gettext_noop(
            "The application's HTTPS certificate isn't trusted for this host name. It must be valid, unexpired "
            "and issued by a trusted authority."
        ),
    ),
    "timeout": (
        gettext_noop("Timed out"),
        gettext_noop(
            "The application didn't answer in time. Check that the URL is reachable from this server "
            "(firewall, proxy) and try again."
        ),
    ),
    "not_scim": (
        gettext_noop("Not a SCIM endpoint"),
        gettext_noop(
            "Something answered, but not SCIM 2.0. The tenant URL usually ends with /scim/v2 or /scim."
        ),
    ),
    "unexpected_status": (
        gettext_noop("Unexpected response"),
        gettext_noop(
            "The application answered the test query with an unexpected HTTP status. Check the tenant URL and "
            "the application's SCIM logs."
        ),
    ),
    "authorization_expired": (
        gettext_noop("Authorization expired or revoked"),
        gettext_noop(
            "The sign-in given with Authorize is no longer valid (it expired, or was revoked in the "
            "application). Select Authorize, sign in to the application again, then Test Connection."
        ),
    ),
    "invalid_url": (
        gettext_noop("Invalid tenant URL"),
        gettext_noop("Correct the tenant URL and test again."),
    ),
    "filter_ignored": (
        gettext_noop("Filter not supported"),
        gettext_noop(
            "The application ignores SCIM filters, so users can't be matched safely. Ask the vendor to "
            "support filtering on the matching attribute."
        ),
    ),
    "connection_failed": (
        gettext_noop("Connection failed"),
        gettext_noop("Check the tenant URL and the network path to the application."),
    ),
    "destination_not_allowed": (
        gettext_noop("Destination not allowed"),
        gettext_noop(
            "This portal's outbound policy refuses that address. Use the application's public SCIM endpoint, "
            "or ask the portal's operator to allow it (PROVISIONING_OUTBOUND_ALLOW)."
        ),
    ),
    "unavailable": (
        gettext_noop("Test Connection unavailable"),
        gettext_noop("The SCIM connector is not installed on this server."),
    ),
}


def describe_result(result: Any, credentials: Credentials) -> TestVerdict:
    """Turn the probe's ``ConnectionTestResult`` into what the admin reads, scrubbed of secrets."""
    code = str(getattr(result, "code", "connection_failed"))
    # Translated here, in the caller's language: the admin's on the page, English for the Graph API.
    title, hint = (gettext(text) if text else "" for text in _TITLES.get(code, _TITLES["connection_failed"]))
    details = credentials.scrub(dict(getattr(result, "details", None) or {}))
    supports: list[str] = []
    capabilities = details.get("capabilities") or {}
    if isinstance(capabilities, dict):
        bulk_max = capabilities.get("bulk_max_operations")
        filter_max = capabilities.get("filter_max_results")
        labels = [
            ("patch", "PATCH"),
            (
                "bulk",
                gettext("Bulk (up to %(count)s operations)") % {"count": bulk_max}
                if bulk_max
                else gettext("Bulk"),
            ),
            (
                "filter",
                gettext("Filtering (up to %(count)s results)") % {"count": filter_max}
                if filter_max
                else gettext("Filtering"),
            ),
            ("etag", "ETags"),
            ("sort", gettext("Sorting")),
            ("change_password", gettext("Password change")),
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


def test_connection_wait(actor_id: Any) -> int:
    """Count one Test Connection by ``actor_id``; 0 when allowed, else the seconds until it is again.

    A fixed window in the cache (shared by the web servers): PROVISIONING_TEST_CONNECTION_LIMIT tests
    per PROVISIONING_TEST_CONNECTION_WINDOW seconds, so Test Connection can't be used to sweep a network.
    """
    limit = int(settings.PROVISIONING_TEST_CONNECTION_LIMIT)
    window = max(1, int(settings.PROVISIONING_TEST_CONNECTION_WINDOW))
    now = time.time()
    slot = int(now // window)
    key = f"provisioning:test-connection:{actor_id}:{slot}"
    cache.add(key, 0, timeout=window + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the first attempt of a new window
        cache.add(key, 1, timeout=window + 1)
        count = 1
    if count <= limit:
        return 0
    return max(1, math.ceil((slot + 1) * window - now))


test_connection_wait.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def rate_limited_verdict(wait: int) -> TestVerdict:
    """What Test Connection shows over the limit (nothing was sent)."""
    limit = int(settings.PROVISIONING_TEST_CONNECTION_LIMIT)
    window = int(settings.PROVISIONING_TEST_CONNECTION_WINDOW)
    return TestVerdict(
        ok=False,
        code="rate_limited",
        title=gettext("Too many tests"),
        message=gettext(
            "Test Connection can run %(limit)s times per %(window)s seconds. Try again in %(wait)s seconds."
        )
        % {"limit": limit, "window": window, "wait": wait},
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
    common = {
        "verify": settings.PROVISIONING_OAUTH_CA_BUNDLE or True,
        "token_url": credentials.oauth_token_url,
        "client_id": credentials.oauth_client_id,
        "client_secret": credentials.oauth_client_secret,
        "scope": credentials.oauth_scope or None,
        "timeout": timeout,
    }
    if credentials.uses_authorization_code:
        return scim_client.OAuth2RefreshToken(
            **common, refresh_token=credentials.oauth_refresh_token, on_rotate=on_rotate, latest=latest
        )
    return scim_client.OAuth2ClientCredentials(**common)


def refresh_token_store(job_id: int) -> tuple[Callable[[str], None], Callable[[], str]]:
    """(store, read) of a job's refresh token, encrypted at rest by its field."""

    def store(token: str) -> None:
        ProvisioningJob.objects.filter(pk=job_id).update(oauth_refresh_token=token)

    def read() -> str:
        job = ProvisioningJob.objects.only("oauth_refresh_token").filter(pk=job_id).first()
        return job.oauth_refresh_token if job else ""

    return store, read


def run_connection_test(
    credentials: Credentials,
    *,
    matching: str = "userName",
    timeout: float = 10,
    job_id: int | None = None,
) -> TestVerdict:
    """Probe the target the way Entra's Test Connection does and describe the outcome.

    With ``job_id``, a refresh token the application rotates during the test is stored for that job.
    """
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
        from provisioning.sync import quarantine

        quarantine.leave_if(job, QuarantineReason.CREDENTIALS)
