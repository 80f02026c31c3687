"""How the audit log shows modified properties: Entra-style names and readable values.

Entries store ``{"field", "old", "new"}`` as recorded (``tenant_url``, lists of mapping dicts...);
this turns them into what an admin reads, for old entries too: ``TenantURL``, ``Jane Doe`` instead of
``[{'title': 'Jane Doe'}]``, dates without microseconds.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format

# Words kept upper-case in property names, as Entra writes them (TenantURL, ObjectId, SCIM...).
_ACRONYMS = {"url": "URL", "scim": "SCIM", "upn": "UPN", "oauth": "OAuth", "api": "API", "csv": "CSV"}
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
EMPTY = ""


def property_name(field: str) -> str:
    """``tenant_url`` → ``TenantURL``, ``notify_on_failure`` → ``NotifyOnFailure``; names already
    in Entra's form (``DisplayName``) or with spaces are kept."""
    if not field or ("_" not in field and field[:1].isupper()) or " " in field:
        return field
    words = [w for w in re.split(r"[_\-.]+", field) if w]
    return "".join(_ACRONYMS.get(w.lower(), w[:1].upper() + w[1:]) for w in words)


def readable(value: Any) -> str:
    """A value as text an admin reads: no Python reprs, lists joined, dicts as ``Name: value``."""
    if value is None or value == "":
        return EMPTY
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dt.datetime):
        return date_format(value, "DATETIME_FORMAT")
    if isinstance(value, str):
        if _ISO_DATETIME.match(value) and (parsed := parse_datetime(value)) is not None:
            return date_format(parsed, "DATETIME_FORMAT")
        return value
    if isinstance(value, dict):
        parts = [f"{property_name(str(k))}: {readable(v)}" for k, v in value.items() if readable(v) != EMPTY]
        return ", ".join(parts)
    if isinstance(value, list | tuple):
        items = [readable(v) for v in value]
        separator = "; " if any(isinstance(v, dict) for v in value) else ", "
        return separator.join(item for item in items if item != EMPTY)
    return str(value)


def display_changes(changes: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """``[{"name", "old", "new"}]`` ready for the page."""
    return [
        {
            "name": property_name(str(c.get("field", ""))),
            "old": readable(c.get("old")),
            "new": readable(c.get("new")),
        }
        for c in changes or []
    ]
