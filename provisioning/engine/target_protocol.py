"""What the engine needs from a target application, and nothing about how it is reached.

The engine (scope → match → map → diff → export) talks to a :class:`Target`; the SCIM connector in
``provisioning.connectors.scim`` is one implementation. Values travel as flat dicts keyed by Entra-style
target attribute paths (``userName``, ``name.givenName``, ``emails[type eq "work"].value``,
``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager``...), so mappings, diffs and logs
never see a nested SCIM document.

Failures are :class:`TargetError`: one exception type whose ``category`` tells the engine what to do,
so it never inspects HTTP status codes itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

__all__ = [
    "REDACTED",
    "Capabilities",
    "ErrorCategory",
    "ObjectType",
    "Target",
    "TargetError",
    "TargetObject",
    "is_secret_name",
    "redact_secrets",
]

ObjectType = Literal["User", "Group"]


@dataclass
class TargetObject:
    """An object as the target holds it: its target id and its values flattened by attribute path.

    ``retry_count`` is how many retries the call that produced it needed (0 = first attempt), so
    run logs can show flaky targets.
    """

    id: str
    values: dict[str, Any]
    retry_count: int = 0


@dataclass(frozen=True)
class Capabilities:
    """What the target says it supports (``/ServiceProviderConfig``), discovered once per target.

    ``discovered`` is False when the target published nothing readable and these are the assumed
    defaults: Entra's assumptions (filter ``eq`` and PATCH work, no Bulk, no ETags).
    """

    patch: bool = True
    bulk: bool = False
    bulk_max_operations: int | None = None
    bulk_max_payload_size: int | None = None
    filter: bool = True
    filter_max_results: int | None = None
    etag: bool = False
    sort: bool = False
    change_password: bool = False
    authentication_schemes: tuple[str, ...] = ()
    discovered: bool = False


class ErrorCategory(StrEnum):
    """What the engine does with a failed call (the reaction, not the cause)."""

    TRANSIENT = "transient"
    """Network trouble, timeout, 408, 429, 5xx: retry later (escrow). The connector already retried."""
    REJECTED = "rejected"
    """The target refused this object (other 4xx, invalid value): record it, fix data or mapping."""
    CONFLICT = "conflict"
    """409 / uniqueness: the object already exists; re-match by the matching attribute and adopt it."""
    NOT_FOUND = "not_found"
    """404 on a known target id: the link is stale; forget it and re-match/create."""
    UNAUTHORIZED = "unauthorized"
    """401/403 or the token cannot be obtained: stop the run and quarantine; nothing else will work."""
    SCHEMA = "schema"
    """The target's SCIM dialect does not match (unreadable response, unknown attribute path, endpoint
    missing, operation not implemented): a configuration problem that repeats for every object."""


class TargetError(Exception):
    """A failed target call, already classified.

    ``code`` is a stable, Entra-like error code (see ``provisioning.connectors.scim.errors.ErrorCode``),
    ``reason`` a sentence for the provisioning log, ``recommended_action`` what an admin can do.
    ``retryable`` says whether a later attempt can succeed unchanged; ``retry_count`` how many retries
    were already made. ``outcome_unknown`` means the request was sent but its answer was lost (timeout,
    dropped connection, gateway error on a POST): the object may or may not exist now, so the engine
    must re-match before creating again. ``retry_after`` is the target's requested wait in seconds.
    ``request`` is what was sent (operation, method, path, body with secrets redacted) and ``detail`` the
    target's own explanation, so a failure can be debugged from the log alone.
    Messages never contain secrets.
    """

    def __init__(
        self,
        code: str,
        category: ErrorCategory,
        reason: str,
        *,
        recommended_action: str = "",
        http_status: int | None = None,
        retry_count: int = 0,
        retryable: bool | None = None,
        outcome_unknown: bool = False,
        retry_after: float | None = None,
        scim_type: str | None = None,
        operation: str | None = None,
        detail: str | None = None,
        request: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.category = ErrorCategory(category)
        self.reason = reason
        self.recommended_action = recommended_action
        self.http_status = http_status
        self.retry_count = retry_count
        self.retryable = self.category is ErrorCategory.TRANSIENT if retryable is None else retryable
        self.outcome_unknown = outcome_unknown
        self.retry_after = retry_after
        self.scim_type = scim_type
        self.operation = operation
        self.detail = detail
        self.request = request

    @property
    def response(self) -> dict[str, Any] | None:
        """What the target answered (status, scimType, detail), or None when no answer came."""
        if self.http_status is None:
            return None
        return {"status": self.http_status, "scimType": self.scim_type, "detail": self.detail}

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only fields survive copy.copy() and pickling (Celery results, escrow rows).
        return (self.__class__, (self.code, self.category, self.reason), self.__dict__.copy())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary for run logs and escrow rows."""
        return {
            "code": self.code,
            "category": str(self.category),
            "reason": self.reason,
            "recommended_action": self.recommended_action,
            "http_status": self.http_status,
            "retry_count": self.retry_count,
            "retryable": self.retryable,
            "outcome_unknown": self.outcome_unknown,
            "retry_after": self.retry_after,
            "scim_type": self.scim_type,
            "operation": self.operation,
            "detail": self.detail,
            "request": self.request,
            "response": self.response,
        }

    def __repr__(self) -> str:
        return (
            f"TargetError(code={self.code!r}, category={self.category.value!r}, http_status={self.http_status!r}, "
            f"retry_count={self.retry_count}, outcome_unknown={self.outcome_unknown})"
        )


@runtime_checkable
class Target(Protocol):
    """A target application the engine provisions users and groups into.

    Every method raises :class:`TargetError` on failure (``bulk_create`` returns them per item instead).
    """

    def capabilities(self) -> Capabilities:
        """What the target supports, discovered once and cached."""
        ...

    def find(self, object_type: ObjectType, attribute: str, value: str) -> TargetObject | None:
        """The one object whose ``attribute`` equals ``value`` (matching), or None."""
        ...

    def find_many(
        self, object_type: ObjectType, attribute: str, values: list[str]
    ) -> dict[str, TargetObject]:
        """Batched matching; keys are the values as given (a value without a match is absent)."""
        ...

    def create(self, object_type: ObjectType, values: dict[str, Any]) -> TargetObject:
        """Create an object (groups without members) and return it as the target stored it."""
        ...

    def update(self, object_type: ObjectType, target_id: str, changes: dict[str, Any]) -> None:
        """Apply only the changed paths in one request; a None value removes the attribute."""
        ...

    def set_active(self, target_id: str, active: bool) -> None:
        """Enable or disable (soft-delete) a user."""
        ...

    def delete(self, object_type: ObjectType, target_id: str) -> None:
        """Delete an object; an object already gone is not an error."""
        ...

    def add_members(self, group_id: str, member_ids: list[str]) -> None:
        """Add members to a group, batched."""
        ...

    def remove_members(self, group_id: str, member_ids: list[str]) -> None:
        """Remove members from a group, batched."""
        ...

    def bulk_create(
        self, object_type: ObjectType, items: list[dict[str, Any]]
    ) -> list[TargetObject | TargetError]:
        """Create many objects; one result per item, in order."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


_SECRET_KEY = re.compile(r"passw(or)?d|secret", re.IGNORECASE)
REDACTED = "[Redact]"


def is_secret_name(name: str) -> bool:
    """An attribute whose value never goes in a log (``password``, ``...:User:clientSecret``)."""
    return bool(_SECRET_KEY.search(name.rsplit(":", 1)[-1]))


def redact_secrets(body: Any, values: Iterable[str] = ()) -> Any:
    """A copy of a SCIM body for logs: ``password``-like attributes and any of ``values`` become ``[Redact]``."""
    hidden = {v for v in values if isinstance(v, str) and v}

    def walk(node: Any, key: str = "") -> Any:
        if is_secret_name(key) and node not in (None, ""):
            return REDACTED
        if isinstance(node, dict):
            # A PATCH operation names its attribute in "path": {"op": "replace", "path": "password", ...}
            path = str(node.get("path") or "") if "op" in node else ""
            return {k: walk(v, path if k == "value" and path else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        if isinstance(node, str) and node in hidden:
            return REDACTED
        return node

    return walk(body)
