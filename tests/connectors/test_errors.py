"""The status → taxonomy table of errors.classify, with real httpx2 responses."""

from __future__ import annotations

import httpx2
import pytest
from scim2_client import RequestNetworkException, UnexpectedStatusCodeException
from scim2_models import Error, SCIMException

from provisioning.connectors.scim.errors import ErrorCode, classify
from provisioning.engine.target_protocol import ErrorCategory


def failed(status: int, headers: dict[str, str] | None = None, scim_type: str | None = None) -> Exception:
    response = httpx2.Response(status, headers=headers or {}, text="")
    if scim_type is None:
        exc: Exception = UnexpectedStatusCodeException(status, source=response)
    else:
        exc = SCIMException.from_error(Error(status=status, scim_type=scim_type, detail="refused"))
        exc.scim_type = scim_type  # type: ignore[attr-defined]
        exc.source = response  # type: ignore[attr-defined]
    return exc


@pytest.mark.parametrize(
    ("status", "method", "on_resource", "code", "category", "unknown"),
    [
        (400, "POST", False, ErrorCode.BAD_REQUEST, ErrorCategory.REJECTED, False),
        (401, "GET", False, ErrorCode.UNAUTHORIZED, ErrorCategory.UNAUTHORIZED, False),
        (403, "PATCH", True, ErrorCode.INSUFFICIENT_RIGHTS, ErrorCategory.UNAUTHORIZED, False),
        (404, "PATCH", True, ErrorCode.INVALID_ANCHOR, ErrorCategory.NOT_FOUND, False),
        (404, "GET", False, ErrorCode.SERVICE_INCOMPATIBLE, ErrorCategory.SCHEMA, False),
        (405, "PATCH", True, ErrorCode.NOT_IMPLEMENTED, ErrorCategory.SCHEMA, False),
        (408, "GET", False, ErrorCode.TIMEOUT, ErrorCategory.TRANSIENT, False),
        (409, "POST", False, ErrorCode.ENTRY_CONFLICT, ErrorCategory.CONFLICT, False),
        (422, "POST", False, ErrorCode.BAD_REQUEST, ErrorCategory.REJECTED, False),
        (429, "POST", False, ErrorCode.TOO_MANY_REQUESTS, ErrorCategory.TRANSIENT, False),
        (500, "POST", False, ErrorCode.INTERNAL_SERVER_ERROR, ErrorCategory.TRANSIENT, False),
        (501, "POST", False, ErrorCode.NOT_IMPLEMENTED, ErrorCategory.SCHEMA, False),
        (502, "POST", False, ErrorCode.INTERNAL_SERVER_ERROR, ErrorCategory.TRANSIENT, True),
        (503, "GET", False, ErrorCode.INTERNAL_SERVER_ERROR, ErrorCategory.TRANSIENT, False),
        (504, "PATCH", True, ErrorCode.INTERNAL_SERVER_ERROR, ErrorCategory.TRANSIENT, True),
        (307, "GET", False, ErrorCode.SERVICE_INCOMPATIBLE, ErrorCategory.SCHEMA, False),
    ],
)
def test_status_table(
    status: int, method: str, on_resource: bool, code: ErrorCode, category: ErrorCategory, unknown: bool
) -> None:
    error = classify(failed(status), method=method, on_resource=on_resource, operation="op")
    assert (error.code, error.category, error.http_status, error.outcome_unknown) == (
        code,
        category,
        status,
        unknown,
    )
    assert error.retryable is (category is ErrorCategory.TRANSIENT)
    assert error.recommended_action and error.operation == "op"


def test_retry_after_is_read_from_429_and_503() -> None:
    assert classify(failed(429, {"Retry-After": "12"}), method="GET").retry_after == 12
    assert classify(failed(503, {"Retry-After": "3"}), method="GET").retry_after == 3
    assert classify(failed(400, {"Retry-After": "3"}), method="GET").retry_after is None


def test_scim_types_refine_400() -> None:
    assert classify(failed(400, scim_type="uniqueness"), method="POST").code == ErrorCode.ENTRY_CONFLICT
    assert (
        classify(failed(400, scim_type="invalidPath"), method="PATCH").code
        == ErrorCode.SCHEMA_ATTRIBUTE_NOT_FOUND
    )
    mutability = classify(failed(400, scim_type="mutability"), method="PATCH")
    assert mutability.code == ErrorCode.BAD_REQUEST and mutability.scim_type == "mutability"
    assert "refused" in mutability.reason


@pytest.mark.parametrize(
    ("cause", "code", "unknown_for_post"),
    [
        (httpx2.ConnectError("[Errno 111] Connection refused"), ErrorCode.CONNECTION_FAILED, False),
        (httpx2.ConnectTimeout("timed out"), ErrorCode.TIMEOUT, False),
        (httpx2.PoolTimeout("pool"), ErrorCode.TIMEOUT, False),
        (httpx2.ReadTimeout("timed out"), ErrorCode.TIMEOUT, True),
        (httpx2.WriteTimeout("timed out"), ErrorCode.TIMEOUT, True),
        (httpx2.RemoteProtocolError("Server disconnected"), ErrorCode.PROTOCOL_ERROR, True),
        (httpx2.ReadError("reset"), ErrorCode.PROTOCOL_ERROR, True),
    ],
)
def test_transport_errors(cause: Exception, code: ErrorCode, unknown_for_post: bool) -> None:
    network = RequestNetworkException()
    network.__cause__ = cause
    error = classify(network, method="POST")
    assert (error.code, error.category, error.outcome_unknown) == (
        code,
        ErrorCategory.TRANSIENT,
        unknown_for_post,
    )
    assert ("matched again" in error.reason) is unknown_for_post
