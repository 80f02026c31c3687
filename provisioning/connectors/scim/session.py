"""``ScimSession``: how every request to a SCIM target is sent, retried, throttled and recorded.

Every request goes through :meth:`ScimSession._call`, which runs one scim2-client call with the retry
policy, maps any failure with :func:`errors.classify`, honours ``Retry-After`` for every thread of the
target (a 429 pauses the whole target, not only the thread that saw it), counts what happened and
reports each attempt to ``on_attempt`` (for per-attempt provisioning logs). :class:`~.connector.ScimTarget`
builds the SCIM operations on it.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import httpx2
from pydantic import ValidationError
from scim2_client import SCIMClientException, SCIMResponseException
from scim2_models import (
    Context,
    SCIMException,
)

from provisioning.engine.target_protocol import (
    Capabilities,
    ObjectType,
    TargetError,
    redact_secrets,
)

from .client import (
    DEFAULT_USER_AGENT,
    OAuth2ClientCredentials,
    build_http_client,
    build_scim_client,
    make_auth,
    parse_tenant_url,
)
from .compat import Compatibility
from .errors import ErrorCode, classify, persistent
from .paths import (
    LENIENT_POLICY,
    GroupModel,
    SchemaTypes,
    UserModel,
)
from .retry import RetryPolicy, call_with_retry

__all__ = ["AttemptRecord", "ScimSession", "ScimSettings"]

T = TypeVar("T")

_SCIM_FAILURES = (SCIMClientException, SCIMException, ValidationError, httpx2.HTTPError)


@dataclass(frozen=True)
class ScimSettings:
    """Per-target knobs (stored with the app's provisioning settings).

    ``compatibility`` holds the app's switches (:mod:`.compat`): member-removal form, op casing, boolean
    form, replace with or without path, matching operators. ``Compatibility()`` is RFC 7644 / Entra with
    ``aadOptscim062020``; :data:`.compat.LEGACY` is Entra's pre-2020 forms.
    """

    timeout: float = 30.0
    max_connections: int = 8
    member_batch_size: int = 100
    find_batch_size: int = 50
    bulk_batch_size: int = 50
    use_bulk: bool = True
    compatibility: Compatibility = field(default_factory=Compatibility)
    verify_tls: bool | str = True
    user_agent: str = DEFAULT_USER_AGENT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Callable[[], float] = field(default=time.monotonic, compare=False, repr=False)


@dataclass(frozen=True)
class AttemptRecord:
    """One HTTP attempt, for logs: no headers, no bodies, no secrets."""

    operation: str
    method: str
    path: str
    attempt: int
    status: int | None
    duration_ms: float
    error_code: str | None = None
    outcome_unknown: bool = False


class ScimSession:
    """One pooled connection set to a target, safe to share between threads: the request plumbing."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        oauth: OAuth2ClientCredentials | None = None,
        settings: ScimSettings | None = None,
        on_attempt: Callable[[AttemptRecord], None] | None = None,
        transport: httpx2.BaseTransport | None = None,
        **overrides: Any,
    ) -> None:
        self.settings = replace(settings or ScimSettings(), **overrides)
        tenant = parse_tenant_url(base_url)
        self.base_url = tenant.base_url
        self.url_flags = tenant.flags
        self._oauth = oauth
        self._local = threading.local()
        self._http = build_http_client(
            self.base_url,
            auth=make_auth(token, oauth),
            timeout=self.settings.timeout,
            max_connections=self.settings.max_connections,
            verify=self.settings.verify_tls,
            user_agent=self.settings.user_agent,
            transport=transport,
            event_hooks={"request": [self._remember_request], "response": [self._remember_response]},
        )
        self._scim = build_scim_client(self._http)
        self._on_attempt = on_attempt
        self._capabilities: Capabilities | None = None
        self._schema_types: tuple[SchemaTypes | None, float | None] = (None, None)
        self._lock = threading.Lock()
        self._pause_until = 0.0
        self.stats: Counter[str] = Counter()

    @property
    def compat(self) -> Compatibility:
        return self.settings.compatibility

    # -- plumbing -----------------------------------------------------------------------------------

    def _remember_request(self, request: httpx2.Request) -> None:
        self._local.response = None
        self._local.request = request

    def _sent(self, operation: str, method: str, path: str) -> dict[str, Any]:
        """What this thread's last call sent, for the log: no headers, secrets in the body redacted."""
        request: httpx2.Request | None = getattr(self._local, "request", None)
        body: Any = None
        if request is not None and request.method == method:
            try:
                body = json.loads(request.content) if request.content else None
            except (ValueError, httpx2.RequestNotRead):
                body = None
        return {"operation": operation, "method": method, "path": path, "body": redact_secrets(body)}

    def _remember_response(self, response: httpx2.Response) -> None:
        self._local.response = response

    def _count(self, key: str, amount: int = 1) -> None:
        with self._lock:
            self.stats[key] += amount

    def _wait_if_throttled(self) -> None:
        wait = self._pause_until - self.settings.clock()
        if wait > 0:
            self._count("throttle_waits")
            self.settings.retry.sleep(wait)

    def _throttled(self, error: TargetError) -> None:
        if error.retry_after is None:
            return
        until = self.settings.clock() + min(error.retry_after, self.settings.retry.max_retry_after)
        with self._lock:
            self._pause_until = max(self._pause_until, until)

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        send: Callable[[], T],
        *,
        on_resource: bool,
        accept_after_unknown: Callable[[TargetError], bool] | None = None,
    ) -> tuple[T | None, int]:
        """Run one SCIM request with retries; return (result, retries) or raise a classified TargetError.

        A 2xx answer that scim2-models cannot validate (vendors stray from the schema) is still a
        success: its raw JSON is returned instead of a model, so a create that happened is never
        reported as failed.
        """
        attempt_number = 0
        answers: list[tuple[str, int | None, str]] = []

        def attempt() -> T:
            nonlocal attempt_number
            attempt_number += 1
            self._wait_if_throttled()
            self._local.response = None
            self._local.request = None
            started = time.perf_counter()
            try:
                result = send()
            except _SCIM_FAILURES as exc:
                raw = self._raw_success(exc)
                if raw is not None:
                    self._record(operation, method, path, attempt_number, started, None)
                    return raw  # type: ignore[return-value]
                error = classify(exc, method=method, on_resource=on_resource, operation=operation)
                error.request = self._sent(operation, method, path)
                answers.append((error.code, error.http_status, error.reason))
                self._throttled(error)
                self._record(operation, method, path, attempt_number, started, error)
                raise error from exc
            except TargetError as error:  # raised by the OAuth flow
                error.operation = error.operation or operation
                self._record(operation, method, path, attempt_number, started, error)
                raise
            self._record(operation, method, path, attempt_number, started, None)
            return result

        try:
            result, retries = call_with_retry(
                attempt,
                self.settings.retry,
                idempotent=method != "POST",
                accept_after_unknown=accept_after_unknown,
            )
        except TargetError as error:
            # Every attempt got the very same server error: that is this request failing, not an outage.
            if (
                len(answers) > 1
                and len(set(answers)) == 1
                and error.code == ErrorCode.INTERNAL_SERVER_ERROR
                and error.http_status not in (502, 503, 504)
            ):
                raise persistent(error, len(answers)) from None
            raise
        if retries:
            self._count("retries", retries)
        return result, retries

    def _raw_success(self, exc: BaseException) -> dict[str, Any] | None:
        response = getattr(exc, "source", None)
        if not isinstance(exc, SCIMResponseException) or not isinstance(response, httpx2.Response):
            return None
        if not 200 <= response.status_code < 300:
            return None
        try:
            payload = response.json()
        except ValueError:
            return None
        if not isinstance(payload, dict) or "Error" in str(payload.get("schemas", "")):
            return None
        self._count("lenient_responses")
        return payload

    def _record(
        self, operation: str, method: str, path: str, attempt: int, started: float, error: TargetError | None
    ) -> None:
        response: httpx2.Response | None = getattr(self._local, "response", None)
        status = response.status_code if response is not None else (error.http_status if error else None)
        self._count("requests")
        if error is not None:
            self._count(f"error:{error.code}")
        if self._on_attempt is None:
            return
        self._on_attempt(
            AttemptRecord(
                operation=operation,
                method=method,
                path=path,
                attempt=attempt,
                status=status,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                error_code=error.code if error else None,
                outcome_unknown=error.outcome_unknown if error else False,
            )
        )

    @staticmethod
    def _model(object_type: ObjectType) -> Any:
        return UserModel if object_type == "User" else GroupModel

    @staticmethod
    def _endpoint(object_type: ObjectType) -> str:
        return "/Users" if object_type == "User" else "/Groups"

    def _returned(self, result: Any) -> Any:
        """The JSON the target sent for this thread's last call, as sent (else the validated result).

        scim2-client has validated it already; reading the raw body keeps the values exactly as the
        target stored them and is ~20x cheaper than dumping the model again.
        """
        if isinstance(result, dict):
            return result
        response: httpx2.Response | None = getattr(self._local, "response", None)
        if response is not None and 200 <= response.status_code < 300:
            try:
                payload = response.json()
            except ValueError:
                return result
            if isinstance(payload, dict):
                return payload
        return result

    @staticmethod
    def _document(resource: Any) -> dict[str, Any]:
        """The JSON document of a returned resource (validated model or raw dict)."""
        if isinstance(resource, dict):
            return resource
        with LENIENT_POLICY:
            return resource.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
