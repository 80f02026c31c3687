"""Bounded copies of attribute values for the escrow record and the provisioning logs.

A 1 MB attribute must reach the target intact, but the engine's record only needs to know whether the
value changed, and a log row only needs to show it. Above the limit (characters of the value, or of its
JSON form) the escrow keeps a digest and a log row keeps a truncated copy that names the digest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

MIN_LIMIT = 256  # a digest must fit under the limit, or bounding it again would change it
DIGEST_PREFIX = "sha256:"


def _text(value: Any) -> str:
    return (
        value
        if isinstance(value, str)
        else json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    )


def digest(value: Any) -> str:
    text = _text(value)
    return f"{DIGEST_PREFIX}{hashlib.sha256(text.encode()).hexdigest()} ({len(text)} characters)"


def for_record(value: Any, limit: int) -> Any:
    """The value itself when small enough, else its digest (stable: equal values give equal digests)."""
    if value is None or isinstance(value, bool | int | float):
        return value
    return value if len(_text(value)) <= max(limit, MIN_LIMIT) else digest(value)


def record_values(values: dict[str, Any], limit: int) -> dict[str, Any]:
    return {name: for_record(value, limit) for name, value in values.items()}


def for_log(value: Any, limit: int) -> Any:
    """The value itself when small enough, else its first ``limit`` characters and its digest."""
    limit = max(limit, MIN_LIMIT)
    if isinstance(value, str) and len(value) <= limit:  # most values: short text
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    text = _text(value)
    if len(text) <= limit:
        return value
    return f"{text[:limit]}… [truncated; {digest(value)}]"


def log_details(details: dict[str, Any], limit: int) -> dict[str, Any]:
    return {name: for_log(value, limit) for name, value in details.items()}
