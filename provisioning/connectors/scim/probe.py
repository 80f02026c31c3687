"""Test Connection: what Entra does when an admin clicks the button, with a diagnosis an admin can act on.

1. ``GET /Users?filter=userName eq "<random GUID>"`` — the target must answer 200 with an empty
   ListResponse (a target that returns users for a value nobody has ignores filters, and matching
   against it would adopt the wrong accounts).
2. Discovery, where offered: ``/ServiceProviderConfig``, ``/Schemas``, ``/ResourceTypes`` — reported
   in ``details`` (PATCH, Bulk + maxOperations, filter + maxResults, ETag, sort, auth schemes, resource
   types, schemas). Missing discovery is reported, not a failure (Entra only needs the query).

Result codes: ``connected``, ``invalid_token``, ``authorization_expired`` (the Authorize grant expired or
was revoked), ``connection_refused``, ``dns_failure``, ``tls_error``,
``timeout``, ``not_scim``, ``unexpected_status``, ``invalid_url``, ``filter_ignored``,
``connection_failed`` (any other network failure), ``destination_not_allowed`` (the outbound policy
refuses the resolved address: nothing was sent, and no more is said about it). No secret ever appears in a message or the details:
every string is passed through a redaction of the token and client secret before it is returned.
"""

from __future__ import annotations

import socket
import ssl
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from functools import partial
from typing import Any

import httpx2
from scim2_client import RequestNetworkException, SCIMClientException
from scim2_models import ResourceType, Schema, SCIMException, SearchRequest, ServiceProviderConfig

from provisioning.connectors.scim.connector import ScimTarget
from provisioning.engine.target_protocol import ErrorCategory, TargetError
from provisioning.redaction import redact

from ..outbound import NOT_ALLOWED_MESSAGE, is_refusal
from .client import OAuth2ClientCredentials, build_http_client, build_scim_client, make_auth, parse_tenant_url
from .errors import ErrorCode
from .paths import UserModel, filter_expression

__all__ = ["ConnectionTestResult", "ProbeCode", "test_connection"]


class ProbeCode(StrEnum):
    CONNECTED = "connected"
    INVALID_TOKEN = "invalid_token"
    AUTHORIZATION_EXPIRED = "authorization_expired"
    CONNECTION_REFUSED = "connection_refused"
    DNS_FAILURE = "dns_failure"
    TLS_ERROR = "tls_error"
    TIMEOUT = "timeout"
    NOT_SCIM = "not_scim"
    UNEXPECTED_STATUS = "unexpected_status"
    INVALID_URL = "invalid_url"
    FILTER_IGNORED = "filter_ignored"
    CONNECTION_FAILED = "connection_failed"
    DESTINATION_NOT_ALLOWED = "destination_not_allowed"


@dataclass
class ConnectionTestResult:
    ok: bool
    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


class _Failed(Exception):
    def __init__(self, code: ProbeCode, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


def _chain(exc: BaseException | None) -> list[BaseException]:
    seen: list[BaseException] = []
    while exc is not None and exc not in seen and len(seen) < 12:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _network_failure(exc: BaseException, host: str, port: int | None, timeout: float) -> _Failed:
    """Tell DNS, refused, TLS, timeout apart from the exception chain (types first, messages as fallback)."""
    chain = _chain(exc)
    if is_refusal(exc):  # one answer for every refused address: no probing of internal ranges
        return _Failed(ProbeCode.DESTINATION_NOT_ALLOWED, f"Not connected: {NOT_ALLOWED_MESSAGE}.")
    text = " ".join(str(e) for e in chain)
    where = f"{host}:{port}" if port else host
    if any(isinstance(e, httpx2.TimeoutException | TimeoutError | socket.timeout) for e in chain):
        return _Failed(ProbeCode.TIMEOUT, f"No answer from {where} within {timeout:g} s.")
    if (
        any(isinstance(e, socket.gaierror) for e in chain)
        or "Name or service not known" in text
        or ("nodename nor servname" in text or "Temporary failure in name resolution" in text)
    ):
        return _Failed(
            ProbeCode.DNS_FAILURE, f"The host name {host} could not be resolved (DNS). Check the tenant URL."
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "Connection refused" in text:
        return _Failed(
            ProbeCode.CONNECTION_REFUSED,
            f"Connection refused by {where}: nothing listens there. Check the host, the port and that the "
            "application is running.",
        )
    tls = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
    if tls is not None or "CERTIFICATE_VERIFY_FAILED" in text or "SSL" in text:
        reason = getattr(tls, "verify_message", None) or getattr(tls, "reason", None) or "handshake failed"
        return _Failed(
            ProbeCode.TLS_ERROR,
            f"The TLS connection to {where} failed ({reason}). The certificate must be valid for the host "
            "and issued by a trusted authority.",
        )
    name = type(chain[-1]).__name__ if chain else type(exc).__name__
    return _Failed(ProbeCode.CONNECTION_FAILED, f"The connection to {where} failed ({name}).")


def _describe_body(response: httpx2.Response) -> str:
    content_type = response.headers.get("content-type", "").split(";")[0].strip() or "no content type"
    text = response.text[:2000].lower() if response.content else ""
    if "<html" in text or "<!doctype html" in text:
        return f"an HTML page ({content_type})"
    if not text:
        return f"an empty body ({content_type})"
    try:
        response.json()
    except ValueError:
        return f"a body that is not JSON ({content_type})"
    return f"JSON that is not a SCIM ListResponse ({content_type})"


def _raw_json(exc: BaseException) -> Any:
    response = getattr(exc, "source", None)
    if isinstance(response, httpx2.Response) and 200 <= response.status_code < 300:
        try:
            return response.json()
        except ValueError:
            return None
    return None


def test_connection(
    base_url: str,
    *,
    token: str | None = None,
    oauth: OAuth2ClientCredentials | None = None,
    matching_attribute: str = "userName",
    timeout: float = 10,
    verify: bool | str = True,
    transport: httpx2.BaseTransport | None = None,
) -> ConnectionTestResult:
    """Probe a SCIM tenant URL the way Entra's Test Connection does and say what is wrong, if anything.

    Never raises for anything the target or the network does; ValueError only for a ``matching_attribute``
    that is not an attribute path (a programming error, not a connection problem).
    """
    filter_expression(matching_attribute, "probe")
    secrets = [
        s for s in (token, oauth.client_secret if oauth else None, getattr(oauth, "refresh_token", None)) if s
    ]
    try:
        query = partial(
            _query_and_discover,
            token=token,
            oauth=oauth,
            matching_attribute=matching_attribute,
            timeout=timeout,
            verify=verify,
            transport=transport,
        )
        result = _probe(base_url, query)
    except _Failed as failure:
        result = ConnectionTestResult(False, failure.code.value, failure.message, failure.details)
    return ConnectionTestResult(
        result.ok, result.code, redact(result.message, secrets), redact(result.details, secrets)
    )


test_connection.__test__ = False  # type: ignore[attr-defined]  # not a pytest test despite its name


def _probe(base_url: str, query: Callable[..., ConnectionTestResult]) -> ConnectionTestResult:
    """Check the tenant URL, then ``query`` it; a failure carries what was learnt about the tenant."""
    try:
        tenant = parse_tenant_url(base_url)
    except ValueError as exc:
        raise _Failed(ProbeCode.INVALID_URL, str(exc)) from None
    url = httpx2.URL(tenant.base_url)
    host, port = url.host, url.port or (443 if url.scheme == "https" else 80)
    details: dict[str, Any] = {"base_url": tenant.base_url, "flags": sorted(tenant.flags)}
    try:
        return query(tenant.base_url, host, port, details)
    except _Failed as failure:
        failure.details = {**details, **failure.details}
        raise


def _query_and_discover(
    base_url: str,
    host: str,
    port: int | None,
    details: dict[str, Any],
    *,
    token: str | None,
    oauth: OAuth2ClientCredentials | None,
    matching_attribute: str,
    timeout: float,
    verify: bool | str,
    transport: httpx2.BaseTransport | None,
) -> ConnectionTestResult:
    http = build_http_client(
        base_url,
        auth=make_auth(token, oauth),
        timeout=timeout,
        max_connections=2,
        verify=verify,
        transport=transport,
    )
    try:
        scim = build_scim_client(http)
        expression = filter_expression(matching_attribute, str(uuid.uuid4()))
        details["users_query"] = {"filter": expression}
        started = time.perf_counter()
        try:
            listing = scim.query(UserModel, query_parameters=SearchRequest(filter=expression))
        except TargetError as error:  # the OAuth token could not be obtained
            raise _token_failure(error, host, port, timeout, details) from None
        except RequestNetworkException as exc:
            raise _network_failure(exc, host, port, timeout) from None
        except (SCIMClientException, SCIMException) as exc:
            raise _response_failure(exc, details) from None
        finally:
            details["latency_ms"] = round((time.perf_counter() - started) * 1000, 1)
        details["users_query"]["status"] = 200
        found = listing.total_results if listing.total_results is not None else len(listing.resources or [])
        _discover(scim, details)
        if found:
            return ConnectionTestResult(
                False,
                ProbeCode.FILTER_IGNORED.value,
                f"The application returned {found} user(s) for a {matching_attribute} that nobody has: it "
                "ignores the filter, so matching would adopt the wrong accounts.",
                details,
            )
        return ConnectionTestResult(True, ProbeCode.CONNECTED.value, _connected_message(details), details)
    finally:
        http.close()


def _token_failure(
    error: TargetError, host: str, port: int | None, timeout: float, details: dict[str, Any]
) -> _Failed:
    details["token_endpoint"] = {"code": error.code, "http_status": error.http_status}
    if error.code == ErrorCode.DESTINATION_NOT_ALLOWED:
        return _Failed(ProbeCode.DESTINATION_NOT_ALLOWED, error.reason)
    if error.code == ErrorCode.INVALID_GRANT:
        return _Failed(ProbeCode.AUTHORIZATION_EXPIRED, error.reason)
    if error.category is ErrorCategory.UNAUTHORIZED:
        return _Failed(ProbeCode.INVALID_TOKEN, f"{error.reason} Check the client id and secret.")
    cause = error.__cause__
    if cause is not None:
        failure = _network_failure(cause, host, port, timeout)
        failure.message = f"Token endpoint: {failure.message}"
        return failure
    return _Failed(ProbeCode.UNEXPECTED_STATUS, f"Token endpoint: {error.reason}")


def _response_failure(exc: BaseException, details: dict[str, Any]) -> _Failed:
    response = getattr(exc, "source", None)
    if not isinstance(response, httpx2.Response):
        return _Failed(ProbeCode.NOT_SCIM, f"The answer is not SCIM ({exc}).")
    status = response.status_code
    details["users_query"]["status"] = status
    if status in (401, 403):
        return _Failed(
            ProbeCode.INVALID_TOKEN,
            f"The application refused the credentials (HTTP {status}). Check the secret token"
            f"{' and its permissions' if status == 403 else ''}.",
        )
    if 200 <= status < 300:
        return _Failed(
            ProbeCode.NOT_SCIM,
            f"The URL answered HTTP {status} with {_describe_body(response)}, not a SCIM ListResponse. Check the "
            "tenant URL: it usually ends with /scim/v2.",
        )
    hint = " The endpoint /Users does not exist at this URL; check the tenant URL." if status == 404 else ""
    return _Failed(
        ProbeCode.UNEXPECTED_STATUS,
        f"The application answered HTTP {status} to the matching query (expected 200).{hint}",
        http_status=status,
    )


def _discover(scim: Any, details: dict[str, Any]) -> None:
    """Read the three discovery endpoints; a failure is recorded, never fatal."""
    errors: dict[str, str] = {}

    def fetch(name: str, call: Any) -> Any:
        try:
            return call()
        except RequestNetworkException as exc:
            errors[name] = f"network error ({type(exc.__cause__).__name__})"
        except (SCIMClientException, SCIMException) as exc:
            raw = _raw_json(exc)
            if raw is not None:
                return raw
            response = getattr(exc, "source", None)
            status = response.status_code if isinstance(response, httpx2.Response) else None
            errors[name] = f"HTTP {status}" if status and status >= 300 else str(exc)[:200]
        return None

    config = fetch("ServiceProviderConfig", lambda: scim.query(ServiceProviderConfig))
    if config is not None:
        details["capabilities"] = asdict(ScimTarget._parse_capabilities(config))
    schemas = fetch("Schemas", lambda: scim.query(Schema))
    if schemas is not None:
        items = schemas.get("Resources", []) if isinstance(schemas, dict) else schemas.resources or []
        details["schemas"] = [_get(s, "id") for s in items if _get(s, "id")]
    resource_types = fetch("ResourceTypes", lambda: scim.query(ResourceType))
    if resource_types is not None:
        items = (
            resource_types.get("Resources", [])
            if isinstance(resource_types, dict)
            else resource_types.resources or []
        )
        details["resource_types"] = [
            {
                "name": _get(rt, "name"),
                "endpoint": _get(rt, "endpoint"),
                "schema": str(_get(rt, "schema") or ""),
                "extensions": [str(_get(e, "schema")) for e in _get(rt, "schemaExtensions") or []],
            }
            for rt in items
        ]
    if errors:
        details["discovery_errors"] = errors


def _get(obj: Any, name: str) -> Any:
    """A field of a raw dict (camelCase) or of a scim2-models object (snake_case, ``schema_``)."""
    if isinstance(obj, dict):
        return obj.get(name)
    attribute = {"schema": "schema_", "schemaExtensions": "schema_extensions"}.get(name, name)
    return getattr(obj, attribute, None)


def _connected_message(details: dict[str, Any]) -> str:
    capabilities = details.get("capabilities")
    if not capabilities:
        return (
            "Connected. The application answered the matching query; it publishes no ServiceProviderConfig."
        )
    features = []
    if capabilities["patch"]:
        features.append("PATCH")
    if capabilities["bulk"]:
        limit = capabilities.get("bulk_max_operations")
        features.append(f"Bulk (max {limit} operations)" if limit else "Bulk")
    if capabilities["filter"]:
        limit = capabilities.get("filter_max_results")
        features.append(f"filter (max {limit} results)" if limit else "filter")
    for key, label in (("etag", "ETags"), ("sort", "sorting")):
        if capabilities[key]:
            features.append(label)
    supported = ", ".join(features) or "none of PATCH, Bulk, filter"
    return f"Connected. The application answered the matching query and supports: {supported}."
