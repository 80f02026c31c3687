"""Graph-style errors: one exception type, one body shape, one place that turns failures into responses.

Why one shape everywhere: scripts written against Microsoft Graph read ``error.code`` and
``error.message``; they must never get Django's HTML debug page or ninja's ``{"detail": …}``. Every
response carries ``request-id`` (and ``client-request-id``, echoed when the caller sent one) so a
failure can be found in the server log.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from ninja.errors import AuthenticationError, HttpError, ValidationError

log = logging.getLogger(__name__)

# Graph's codes, by status, for errors raised without a more specific code.
DEFAULT_CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    429: "TooManyRequests",
    500: "InternalServerError",
    501: "NotImplemented",
}
FORBIDDEN_MESSAGE = "Insufficient privileges to complete the operation."


class ApiError(Exception):
    """An error answered to the caller as Graph's ``{"error": {...}}`` with ``status``.

    ``target`` names the input at fault (``displayName``, ``$filter``, ``value[1].value``); ``details``
    lists further problems as ``{"code", "message", "target"}``.
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        target: str | None = None,
        details: Sequence[dict[str, str]] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "BadRequest")
        self.message = message
        self.target = target
        self.details = list(details)
        self.headers = headers or {}

    def response(self, request: HttpRequest) -> JsonResponse:
        """The answer: Graph's error body with this error's status and headers."""
        body = error_body(request, self.code, self.message, self.target, self.details)
        response = JsonResponse(body, status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def bad_request(message: str, target: str | None = None, **kwargs: Any) -> ApiError:
    """400 naming the input at fault."""
    return ApiError(400, message, target=target, code=kwargs.pop("code", "Request_BadRequest"), **kwargs)


def not_found(what: str, identifier: Any) -> ApiError:
    """404 worded as Graph words it."""
    return ApiError(
        404,
        f"Resource '{identifier}' does not exist or one of its queried reference-property objects are not present.",
        code="Request_ResourceNotFound",
        target=what,
    )


def forbidden(message: str = FORBIDDEN_MESSAGE) -> ApiError:
    return ApiError(403, message, code="Authorization_RequestDenied")


def conflict(message: str, target: str | None = None) -> ApiError:
    return ApiError(409, message, code="Conflict", target=target)


def request_id(request: HttpRequest) -> str:
    """This request's id (made on first use), reported in every body and header."""
    rid = getattr(request, "graph_request_id", None)
    if rid is None:
        rid = str(uuid.uuid4())
        request.graph_request_id = rid
    return rid


def client_request_id(request: HttpRequest) -> str:
    """The caller's ``client-request-id`` when it is a sane value, else our request id."""
    supplied = request.headers.get("client-request-id", "")
    if supplied and len(supplied) <= 100 and supplied.isprintable() and supplied.isascii():
        return supplied
    return request_id(request)


def error_body(
    request: HttpRequest,
    code: str,
    message: str,
    target: str | None = None,
    details: Sequence[dict[str, str]] = (),
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if target:
        error["target"] = target
    if details:
        error["details"] = list(details)
    error["innerError"] = {
        "date": timezone.now().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "request-id": request_id(request),
        "client-request-id": client_request_id(request),
    }
    return {"error": error}


def error_response(request: HttpRequest, status: int, message: str, **options: Any) -> JsonResponse:
    """Graph's error answer without raising: ``options`` are an ``ApiError``'s (code, target, details,
    headers)."""
    return ApiError(status, message, **options).response(request)


def from_api_error(request: HttpRequest, exc: ApiError) -> JsonResponse:
    response = exc.response(request)
    if exc.status == 401 and "WWW-Authenticate" not in response:
        response["WWW-Authenticate"] = 'Bearer realm="provisioning-portal", error="invalid_token"'
    return response


# --- ninja's validation errors -------------------------------------------------------------------


def field_path(loc: Sequence[Any]) -> str:
    """``["body", "payload", "value", 1, "key"]`` → ``value[1].key``; ``["query", "$top"]`` → ``$top``."""
    parts = list(loc)
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 1 else []
    elif parts and parts[0] in ("query", "path", "header", "cookie", "form"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        elif str(part).startswith(("function-", "json-or-python", "lax-or-strict")):
            continue  # pydantic's internal validator names, not the caller's field names
        else:
            text += ("." if text else "") + str(part)
    return text


# Errors raised by ``schemas.InputModel`` in Graph's own words: the message is used as it is.
VERBATIM = {"graph_unknown_property": "name", "graph_wrong_type": None}


def _describe(error: dict[str, Any]) -> tuple[str, str]:
    target = field_path(error.get("loc") or ())
    message = str(error.get("msg") or "Invalid value")
    kind = error.get("type")
    if kind in VERBATIM:
        name = str((error.get("ctx") or {}).get(VERBATIM[kind] or "", "")) or "@odata.type"
        return (f"{target}.{name}" if target else name), message
    if kind == "missing":
        message = "A value is required"
    elif kind == "extra_forbidden":
        message = "This property is not supported"
    elif kind == "json_invalid":
        message = "The request body is not valid JSON"
    message = message.removeprefix("Value error, ")
    return target, message


def from_validation_error(request: HttpRequest, exc: ValidationError) -> JsonResponse:
    """400 with the first problem in ``message`` (naming the field) and all of them in ``details``."""
    problems = [_describe(error) for error in exc.errors] or [("", "Invalid request")]
    details = [
        {"code": "InvalidValue", "message": f"{target}: {message}" if target else message, "target": target}
        for target, message in problems
    ]
    target, message = problems[0]
    if exc.errors and exc.errors[0].get("type") in VERBATIM:
        text = message
    else:
        text = f"Invalid value for '{target}': {message}." if target else f"{message}."
    if len(problems) > 1:
        text += f" ({len(problems) - 1} more problem{'s' if len(problems) > 2 else ''} in details.)"
    return error_response(request, 400, text, code="Request_BadRequest", target=target, details=details)


def install(api: Any) -> None:
    """Register the handlers on the NinjaAPI: nothing leaves it in another shape."""

    @api.exception_handler(ApiError)
    def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return from_api_error(request, exc)

    @api.exception_handler(ValidationError)
    def _validation(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        return from_validation_error(request, exc)

    @api.exception_handler(AuthenticationError)
    def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return from_api_error(
            request,
            ApiError(401, "Access token is empty. Send Authorization: Bearer <token>."),
        )

    @api.exception_handler(Http404)
    def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(request, 404, str(exc) or "Not found.", code="Request_ResourceNotFound")

    @api.exception_handler(RequestDataTooBig)
    def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return error_response(request, 413, "The request body is too large.", code="RequestEntityTooLarge")

    @api.exception_handler(SuspiciousOperation)
    def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return error_response(request, 400, "The request was refused as malformed.", code="BadRequest")

    @api.exception_handler(HttpError)
    def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        status = exc.status_code
        message = str(exc.message) if getattr(exc, "message", None) else "Request failed."
        if status == 400 and "parse" in message.lower():
            message = "The request body is not valid JSON."
        return error_response(request, status, message)

    @api.exception_handler(Exception)
    def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
        log.exception(
            "Unhandled error in %s %s (request-id %s)", request.method, request.path, request_id(request)
        )
        return error_response(
            request,
            500,
            "The server failed to process the request. Quote the request-id when reporting it.",
            code="InternalServerError",
        )
