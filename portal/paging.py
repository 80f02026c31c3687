"""Keyset paging, the one helper of every long list: the audit log, the provisioning logs, the Graph API
and the directory lists.

Why keyset: a page is found by an index seek from the last row seen, so page 5,000 costs what page 1
costs; OFFSET and COUNT(*) would read every row before it. The order is one column then the primary key
(a tie-breaker, so no row is skipped or repeated); a cursor carries that pair, opaque to the reader.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

PK = "pk"  # order by the primary key alone: the cursor is [pk]


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for a sort key (datetimes keep their microseconds, so ties are exact)."""
    raw = json.dumps(
        [v.isoformat() if isinstance(v, datetime) else v for v in values],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(token: str | None, kinds: Sequence[str]) -> list[Any] | None:
    """The sort key in a cursor, one value per kind (``int``, ``datetime``, ``string``); None for a
    missing or mangled one, or one this helper did not make."""
    if not token:
        return None
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        return None
    if not isinstance(values, list) or len(values) != len(kinds):
        return None
    decoded = [_value(kind, value) for kind, value in zip(kinds, values, strict=True)]
    return None if any(v is None for v in decoded) else decoded


def _value(kind: str, value: Any) -> Any:
    if kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63
        return value if ok else None
    if kind == "datetime":
        try:
            parsed = parse_datetime(value) if isinstance(value, str) else None
        except ValueError:
            return None
        return parsed if parsed is not None and parsed.tzinfo is not None else None
    return value if isinstance(value, str) and "\x00" not in value else None


def beyond(field: str, key: Sequence[Any], *, descending: bool) -> Q:
    """Rows after ``key`` in the order (``field``, pk), ascending or descending.

    The redundant ``field >= value`` gives the index scan a start bound; the OR alone is only a filter.
    """
    strict, bound = ("lt", "lte") if descending else ("gt", "gte")
    if field == PK:
        return Q(**{f"pk__{strict}": key[0]})
    value, pk = key
    return Q(**{f"{field}__{bound}": value}) & (
        Q(**{f"{field}__{strict}": value}) | Q(**{f"pk__{strict}": pk})
    )


@dataclass
class Keyset:
    """One page and the cursors to the next page (further in the order) and the previous one."""

    items: list[Any]
    next_cursor: str | None = None
    prev_cursor: str | None = None


def keyset_page(
    queryset: QuerySet,
    field: str,
    kind: str,
    *,
    size: int,
    descending: bool = False,
    after: str | None = None,
    before: str | None = None,
    look_back: bool = True,
) -> Keyset:
    """The page after cursor ``after`` (or before ``before``) of ``queryset`` in (``field``, pk) order.

    ``field`` may be an annotation; ``kind`` is its cursor kind, ``PK`` orders by the primary key alone.
    One query for the rows (``size + 1`` tells whether there is a next page) plus, with ``look_back`` and
    away from the first page, one EXISTS for the previous one. A mangled cursor means the first page; a
    cursor past the end (its rows purged meanwhile) gives no rows and the way back.
    """
    kinds = ["int"] if field == PK else [kind, "int"]
    sign = "-" if descending else ""
    forward = queryset.order_by(*([f"{sign}pk"] if field == PK else [f"{sign}{field}", f"{sign}pk"]))
    backward = forward.reverse()
    after_key, before_key = decode_cursor(after, kinds), decode_cursor(before, kinds)

    def key(row: Any) -> list[Any]:
        return [row.pk] if field == PK else [getattr(row, field), row.pk]

    if before_key and not after_key:
        rows = list(backward.filter(beyond(field, before_key, descending=not descending))[: size + 1])
        items = rows[:size][::-1]
        if not items:  # a stale cursor before the first row: start over
            return keyset_page(queryset, field, kind, size=size, descending=descending, look_back=look_back)
        has_prev = len(rows) > size
        has_next = forward.filter(beyond(field, key(items[-1]), descending=descending)).exists()
    else:
        base = forward.filter(beyond(field, after_key, descending=descending)) if after_key else forward
        rows = list(base[: size + 1])
        items = rows[:size]
        if after_key and not items:
            return Keyset(items=[], prev_cursor=after if look_back else None)
        has_next = len(rows) > size
        has_prev = bool(after_key and look_back) and (
            backward.filter(beyond(field, key(items[0]), descending=not descending)).exists()
        )
    return Keyset(
        items=items,
        next_cursor=encode_cursor(key(items[-1])) if has_next else None,
        prev_cursor=encode_cursor(key(items[0])) if has_prev else None,
    )
