"""The one place where SCIM/HTTP failures become :class:`TargetError`.

Everything scim2-client, scim2-models, pydantic or httpx2 can raise during a call goes through
:func:`classify`; the engine only ever sees the taxonomy below.

Codes mirror the names Entra shows in its provisioning logs where one exists:

==================================================================  ============  =====================================
code                                                                category      when
==================================================================  ============  =====================================
``Unauthorized``                                                    unauthorized  401, or no token could be obtained
``AuthorizationGrantInvalid``                                       unauthorized  the Authorize grant expired/was revoked
``InsufficientRights``                                              unauthorized  403
``EntryConflict``                                                   conflict      409, or ``scimType: uniqueness``
``InvalidAnchor``                                                   not_found     404 on ``/Users/{id}``/``/Groups/{id}``
``TooManyRequests``                                                 transient     429 (``Retry-After`` honoured)
``InternalServerError``                                             transient     5xx
``Timeout``                                                         transient     connect/read/write/pool timeout, 408
``WebExceptionProtocolError``                                       transient     connection dropped, malformed HTTP
``ConnectionFailed``                                                transient     refused, DNS, TLS (nothing was sent)
``SystemForCrossDomainIdentityManagementBadRequest``                rejected      other 4xx; value refused before sending
``MandatoryFieldsMissing``                                          rejected      a required attribute (userName...) is empty
``DuplicateTargetEntries``                                          rejected      matching found more than one object
``SchemaAttributeNotFound``                                         schema        ``scimType: invalidPath``; unknown path
``NotImplemented``                                                  schema        405, 501
``SystemForCrossDomainIdentityManagementServiceIncompatible``      schema        unreadable/non-SCIM response, 404 on a
                                                                                  collection endpoint, 3xx
==================================================================  ============  =====================================

Why a lost response matters: a request that was *sent* but whose answer never came (read timeout,
connection dropped, 502/504 from a gateway) may have been applied; such errors carry
``outcome_unknown=True``. GET/PATCH/DELETE are idempotent and are retried anyway; a POST is not
retried, so the engine re-matches before creating again instead of creating a duplicate.
"""

from __future__ import annotations

import ssl
from enum import StrEnum
from typing import Any

import httpx2
from pydantic import ValidationError
from scim2_client import (
    InvalidServiceDescriptionException,
    RequestNetworkException,
    ResponsePayloadValidationException,
    SCIMClientException,
    UnexpectedContentFormatException,
    UnexpectedContentTypeException,
    UnexpectedStatusCodeException,
)
from scim2_models import SCIMException

from provisioning.engine.target_protocol import ErrorCategory, TargetError
from provisioning.messages import gettext_noop

from ..outbound import NOT_ALLOWED_MESSAGE, in_chain, is_refusal
from .paths import MissingAttribute
from .retry import parse_retry_after

__all__ = [
    "ErrorCategory",
    "ErrorCode",
    "TargetError",
    "classify",
    "error_for_status",
    "local_error",
    "make_error",
    "network_cause",
    "not_implemented_action",
    "persistent",
    "unauthorized",
]


class ErrorCode(StrEnum):
    """Stable error codes (see the module docstring for when each is used)."""

    UNAUTHORIZED = "Unauthorized"
    INVALID_GRANT = "AuthorizationGrantInvalid"
    INSUFFICIENT_RIGHTS = "InsufficientRights"
    ENTRY_CONFLICT = "EntryConflict"
    INVALID_ANCHOR = "InvalidAnchor"
    TOO_MANY_REQUESTS = "TooManyRequests"
    INTERNAL_SERVER_ERROR = "InternalServerError"
    TIMEOUT = "Timeout"
    PROTOCOL_ERROR = "WebExceptionProtocolError"
    CONNECTION_FAILED = "ConnectionFailed"
    BAD_REQUEST = "SystemForCrossDomainIdentityManagementBadRequest"
    MANDATORY_FIELDS_MISSING = "MandatoryFieldsMissing"
    DUPLICATE_TARGET_ENTRIES = "DuplicateTargetEntries"
    SCHEMA_ATTRIBUTE_NOT_FOUND = "SchemaAttributeNotFound"
    NOT_IMPLEMENTED = "NotImplemented"
    SERVICE_INCOMPATIBLE = "SystemForCrossDomainIdentityManagementServiceIncompatible"
    DESTINATION_NOT_ALLOWED = "DestinationNotAllowed"


_ACTIONS: dict[ErrorCode, str] = {
    ErrorCode.UNAUTHORIZED: gettext_noop(
        "Check the secret token (or the OAuth client credentials) in the admin credentials, "
        "then run Test Connection."
    ),
    ErrorCode.INVALID_GRANT: gettext_noop(
        "The sign-in given with Authorize has expired or was revoked in the application: "
        "select Authorize in the admin credentials, sign in to the application again, then run Test Connection."
    ),
    ErrorCode.INSUFFICIENT_RIGHTS: gettext_noop(
        "The credentials are valid but lack permission; grant the provisioning "
        "account rights in the application."
    ),
    ErrorCode.ENTRY_CONFLICT: gettext_noop(
        "An object with the same unique value already exists in the application; it will "
        "be matched and adopted, or adjust the matching attributes."
    ),
    ErrorCode.INVALID_ANCHOR: gettext_noop(
        "The object was deleted in the application; it will be matched or created again."
    ),
    ErrorCode.TOO_MANY_REQUESTS: gettext_noop(
        "The application is throttling; the request is retried automatically."
    ),
    ErrorCode.INTERNAL_SERVER_ERROR: gettext_noop(
        "The application failed; the request is retried automatically. Contact the "
        "application vendor if it persists."
    ),
    ErrorCode.TIMEOUT: gettext_noop(
        "The application was too slow to answer; the request is retried automatically."
    ),
    ErrorCode.PROTOCOL_ERROR: gettext_noop(
        "The connection was interrupted; the request is retried automatically."
    ),
    ErrorCode.CONNECTION_FAILED: gettext_noop(
        "Check the tenant URL, DNS, firewall and TLS certificate, then run Test Connection."
    ),
    ErrorCode.BAD_REQUEST: gettext_noop(
        "The application refused the values sent; check the attribute mappings and the source values."
    ),
    ErrorCode.MANDATORY_FIELDS_MISSING: gettext_noop(
        "Give the object a value for the required attribute, or fix the mapping."
    ),
    ErrorCode.DUPLICATE_TARGET_ENTRIES: gettext_noop(
        "Several objects in the application match; remove the duplicates or "
        "choose a unique matching attribute."
    ),
    ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND: gettext_noop(
        "The application does not know this attribute; remove it from the attribute mappings."
    ),
    ErrorCode.NOT_IMPLEMENTED: gettext_noop("The application does not support this operation."),
    ErrorCode.SERVICE_INCOMPATIBLE: gettext_noop(
        "The application's answer is not valid SCIM 2.0; check the tenant URL "
        "(it usually ends with /scim/v2) and the application's SCIM support."
    ),
    ErrorCode.DESTINATION_NOT_ALLOWED: gettext_noop(
        "Correct the tenant URL or token endpoint, or ask the portal's operator to "
        "allow that address (PROVISIONING_OUTBOUND_ALLOW)."
    ),
}

_CATEGORIES: dict[ErrorCode, ErrorCategory] = {
    ErrorCode.UNAUTHORIZED: ErrorCategory.UNAUTHORIZED,
    ErrorCode.INVALID_GRANT: ErrorCategory.UNAUTHORIZED,
    ErrorCode.INSUFFICIENT_RIGHTS: ErrorCategory.UNAUTHORIZED,
    ErrorCode.ENTRY_CONFLICT: ErrorCategory.CONFLICT,
    ErrorCode.INVALID_ANCHOR: ErrorCategory.NOT_FOUND,
    ErrorCode.TOO_MANY_REQUESTS: ErrorCategory.TRANSIENT,
    ErrorCode.INTERNAL_SERVER_ERROR: ErrorCategory.TRANSIENT,
    ErrorCode.TIMEOUT: ErrorCategory.TRANSIENT,
    ErrorCode.PROTOCOL_ERROR: ErrorCategory.TRANSIENT,
    ErrorCode.CONNECTION_FAILED: ErrorCategory.TRANSIENT,
    ErrorCode.BAD_REQUEST: ErrorCategory.REJECTED,
    ErrorCode.MANDATORY_FIELDS_MISSING: ErrorCategory.REJECTED,
    ErrorCode.DUPLICATE_TARGET_ENTRIES: ErrorCategory.REJECTED,
    ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND: ErrorCategory.SCHEMA,
    ErrorCode.NOT_IMPLEMENTED: ErrorCategory.SCHEMA,
    ErrorCode.SERVICE_INCOMPATIBLE: ErrorCategory.SCHEMA,
    # Nothing will get through until an operator changes the policy or the URL: stop and quarantine.
    ErrorCode.DESTINATION_NOT_ALLOWED: ErrorCategory.UNAUTHORIZED,
}

_DETAIL_LIMIT = 300


def make_error(code: ErrorCode, reason: str, **kwargs: Any) -> TargetError:
    """Build a TargetError with the category and recommended action that belong to ``code``."""
    return TargetError(code.value, _CATEGORIES[code], reason, recommended_action=_ACTIONS[code], **kwargs)


def unauthorized(reason: str, *, http_status: int | None = None) -> TargetError:
    """A credentials failure (token endpoint refused us, missing token...)."""
    return make_error(ErrorCode.UNAUTHORIZED, reason, http_status=http_status)


def _status_phrase(status: int) -> str:
    try:
        return f"{status} {httpx2.codes(status).name.replace('_', ' ').title()}"
    except ValueError:
        return str(status)


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"


def network_cause(exc: BaseException) -> BaseException | None:
    """The innermost httpx2/OS error behind a scim2-client network exception."""
    cause: BaseException | None = exc
    while isinstance(cause, RequestNetworkException):
        cause = cause.__cause__
    return cause


def _transport_error(cause: BaseException | None, method: str) -> TargetError:
    """Map an httpx2 transport error. 'sent' = the request may have reached the server."""
    name = type(cause).__name__ if cause is not None else "NetworkError"
    if isinstance(cause, httpx2.ConnectTimeout | httpx2.PoolTimeout):
        code, sent, what = ErrorCode.TIMEOUT, False, "Timed out connecting to the application"
    elif isinstance(cause, httpx2.TimeoutException):
        code, sent, what = ErrorCode.TIMEOUT, True, "The application did not answer in time"
    elif is_refusal(cause):
        return make_error(ErrorCode.DESTINATION_NOT_ALLOWED, f"Not connected: {NOT_ALLOWED_MESSAGE}.")
    elif isinstance(cause, httpx2.ConnectError):
        code, sent = ErrorCode.CONNECTION_FAILED, False
        what = "Could not connect to the application"
        if in_chain(cause, (ssl.SSLError,), depth=10) or "SSL" in str(cause) or "CERTIFICATE" in str(cause):
            what = "The TLS handshake with the application failed"
    elif isinstance(cause, httpx2.LocalProtocolError | httpx2.UnsupportedProtocol):
        code, sent, what = ErrorCode.CONNECTION_FAILED, False, "The request could not be sent"
    else:  # RemoteProtocolError, ReadError, WriteError, other NetworkError
        code, sent, what = ErrorCode.PROTOCOL_ERROR, True, "The connection was lost before the answer arrived"
    reason = f"{what} ({name})."
    if sent and method == "POST":
        reason += " The request may have been applied; the object will be matched again before any retry."
    return make_error(code, reason, outcome_unknown=sent)


def _response_of(exc: BaseException) -> httpx2.Response | None:
    source = getattr(exc, "source", None)
    return source if isinstance(source, httpx2.Response) else None


def _scim_detail(exc: BaseException, response: httpx2.Response | None) -> tuple[str | None, str]:
    """(scimType, detail) from a SCIM error, or from the raw body of a non-SCIM failure."""
    if isinstance(exc, SCIMException):
        return (getattr(exc, "scim_type", None) or None), _short(getattr(exc, "detail", None) or str(exc))
    if response is not None:
        try:
            body = response.text
        except Exception:  # a body that cannot be decoded carries no detail
            body = ""
        if "<html" in body[:500].lower():
            return None, "(an HTML page)"
        return None, _short(body)
    return None, ""


def error_for_status(
    status: int,
    scim_type: str | None,
    detail: str,
    *,
    method: str,
    on_resource: bool,
    retry_after: float | None,
) -> TargetError:
    phrase = _status_phrase(status)
    suffix = f": {detail}" if detail else ""
    kind = f" (scimType {scim_type})" if scim_type else ""
    reason = f"The application answered HTTP {phrase}{kind}{suffix}"
    unknown = False
    if status == 401:
        code = ErrorCode.UNAUTHORIZED
    elif status == 403:
        code = ErrorCode.INSUFFICIENT_RIGHTS
    elif status == 404:
        code = ErrorCode.INVALID_ANCHOR if on_resource else ErrorCode.SERVICE_INCOMPATIBLE
        if not on_resource:
            reason += " (the endpoint itself is missing)"
    elif status in (405, 501):
        code = ErrorCode.NOT_IMPLEMENTED
    elif status == 408:
        code = ErrorCode.TIMEOUT
    elif status == 409 or scim_type == "uniqueness":
        code = ErrorCode.ENTRY_CONFLICT
    elif status == 429:
        code = ErrorCode.TOO_MANY_REQUESTS
    elif status >= 500:
        code = ErrorCode.INTERNAL_SERVER_ERROR
        # A gateway error means the answer of the application itself was lost: the request may have happened.
        unknown = status in (502, 504)
        if unknown and method == "POST":
            reason += (
                ". The request may have been applied; the object will be matched again before any retry."
            )
    elif scim_type == "invalidPath":
        code = ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND
    elif 400 <= status < 500:
        code = ErrorCode.BAD_REQUEST
    else:  # 1xx/3xx where a SCIM answer was expected
        code = ErrorCode.SERVICE_INCOMPATIBLE
    return make_error(
        code,
        reason,
        http_status=status,
        scim_type=scim_type,
        detail=detail or None,
        retry_after=retry_after
        if code in (ErrorCode.TOO_MANY_REQUESTS, ErrorCode.INTERNAL_SERVER_ERROR)
        else None,
        outcome_unknown=unknown,
    )


def _from_validation(exc: ValidationError, operation: str | None) -> TargetError:
    first = exc.errors()[0] if exc.errors() else {}
    location = str(
        (first.get("ctx") or {}).get("field_name") or ".".join(str(p) for p in first.get("loc", ()))
    )
    message = first.get("msg", str(exc))
    if first.get("type") in ("missing", "required_error", "scim_required"):
        return make_error(
            ErrorCode.MANDATORY_FIELDS_MISSING,
            f"A required attribute is missing: {location or message}. Refused before sending.",
            operation=operation,
        )
    if first.get("type") == "scim_invalidPath":
        return make_error(ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND, f"{_short(message)}. Refused before sending.")
    return make_error(
        ErrorCode.BAD_REQUEST,
        f"Invalid value{f' for {location}' if location else ''}: {_short(message)}. Refused before sending.",
    )


def classify(
    exc: BaseException, *, method: str, on_resource: bool = True, operation: str | None = None
) -> TargetError:
    """Turn any exception of a SCIM call into a TargetError.

    ``method`` decides whether a lost answer makes the outcome unknown (POST only);
    ``on_resource`` tells a 404 on ``/Users/{id}`` (object gone) from a 404 on ``/Users`` (wrong URL).
    """
    if isinstance(exc, TargetError):
        return exc
    error = _classify(exc, method=method, on_resource=on_resource, operation=operation)
    error.operation = operation
    if error.code == ErrorCode.NOT_IMPLEMENTED and operation:
        error.recommended_action = not_implemented_action(operation, error.http_status)
    return error


def not_implemented_action(operation: str, status: int | None) -> str:
    """Name the operation a 405/501 target refused, and what an admin can change about it."""
    answer = f" (HTTP {status})" if status else ""
    return (
        f"The application does not support the operation “{operation}”{answer}. Turn off the target object "
        "action that needs it (Create, Update or Delete) in the attribute mappings, remove the attribute it "
        "sends, or ask the application vendor to support it."
    )


def persistent(error: TargetError, attempts: int) -> TargetError:
    """A 5xx that came back identical on every attempt: a fault of this request, not a passing outage.

    Re-sending it unchanged gave the same answer each time, so calling it transient ("retried
    automatically") would promise a recovery that is not coming; it is re-tried next cycle all the same.
    """
    error.reason += f" (the same answer {attempts} times in a row)"
    error.category = ErrorCategory.REJECTED
    error.retryable = False
    error.recommended_action = (
        f"The application failed {attempts} times with the same answer, so this is not a temporary outage: "
        "it most likely cannot process this request. Check the request and answer shown in the log (values, "
        "attributes, the operation), correct the mapping or the source values, or send both to the "
        "application vendor."
    )
    return error


def _classify(exc: BaseException, *, method: str, on_resource: bool, operation: str | None) -> TargetError:
    if isinstance(exc, RequestNetworkException):
        return _transport_error(network_cause(exc), method)
    if isinstance(exc, httpx2.TransportError):
        return _transport_error(exc, method)
    if isinstance(exc, ValidationError):
        return _from_validation(exc, operation)

    response = _response_of(exc)
    if response is not None:
        status = response.status_code
        scim_type, detail = _scim_detail(exc, response)
        if 200 <= status < 300 or status == 304:
            # The request worked but the answer cannot be read as SCIM.
            return make_error(
                ErrorCode.SERVICE_INCOMPATIBLE,
                f"The application answered HTTP {status} with a response that is not valid SCIM "
                f"({_describe_client_error(exc)}).",
                http_status=status,
            )
        return error_for_status(
            status,
            scim_type,
            detail,
            method=method,
            on_resource=on_resource,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    if isinstance(exc, SCIMException):
        # Raised by scim2-client/scim2-models while preparing the request: nothing was sent.
        scim_type = getattr(exc, "scim_type", None) or None
        code = ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND if scim_type == "invalidPath" else ErrorCode.BAD_REQUEST
        return make_error(
            code, f"{_short(getattr(exc, 'detail', None) or str(exc))}. Refused before sending."
        )
    if isinstance(exc, SCIMClientException):
        return make_error(
            ErrorCode.SERVICE_INCOMPATIBLE,
            f"The application's answer is not valid SCIM ({_describe_client_error(exc)}).",
        )
    raise TypeError(f"not a SCIM call failure: {type(exc).__name__}") from exc


def local_error(exc: Exception, operation: str | None = None) -> TargetError:
    """A payload refused before sending: invalid value (pydantic) or a path that is not an attribute path."""
    if isinstance(exc, ValidationError | SCIMException):
        return classify(exc, method="LOCAL", operation=operation)
    if isinstance(exc, MissingAttribute):
        error = make_error(
            ErrorCode.MANDATORY_FIELDS_MISSING,
            f"The required attribute {exc.attribute} has no value. Refused before sending.",
        )
        error.operation = operation
        return error
    error = make_error(ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND, f"{_short(str(exc))}. Refused before sending.")
    error.operation = operation
    return error


def _describe_client_error(exc: BaseException) -> str:
    if isinstance(exc, UnexpectedContentTypeException):
        return _short(exc.message)
    if isinstance(exc, UnexpectedContentFormatException):
        return "the body is not a JSON object"
    if isinstance(exc, ResponsePayloadValidationException):
        notes = getattr(exc, "__notes__", None) or []
        return "invalid payload" + (f": {_short(notes[0])}" if notes else "")
    if isinstance(exc, InvalidServiceDescriptionException | UnexpectedStatusCodeException):
        return _short(exc.message)
    if isinstance(exc, SCIMClientException):
        return _short(exc.message)
    return type(exc).__name__
