"""Write and read the directory change feed.

Writers call ``record_changes`` (signals do it for single saves; bulk operations call it directly).
Readers call ``changes_since``. Sequence numbers are handed out in commit order: on PostgreSQL a
transaction-scoped advisory lock serialises writers of the feed; SQLite serialises every writer anyway.
"""

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import connection, transaction

from portal.directory.models import DirectoryChange

_FEED_LOCK_KEY = 0x5C1A_F33D
_listeners: list[Callable[[list[DirectoryChange]], None]] = []


@dataclass(frozen=True)
class Change:
    object_kind: str
    object_id: uuid.UUID
    kind: str
    related_id: uuid.UUID | None = None
    app_id: int | None = None


def on_changes(listener: Callable[[list[DirectoryChange]], None]) -> None:
    """Register a callback run after commit with the changes just recorded, one per app that they
    concern (provisioning's near-real-time trigger only needs to know which apps to wake)."""
    _listeners.append(listener)


def record_changes(changes: Iterable[Change]) -> list[DirectoryChange]:
    rows = [DirectoryChange(**change.__dict__) for change in changes]
    if not rows:
        return rows
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_FEED_LOCK_KEY])
        DirectoryChange.objects.bulk_create(rows, batch_size=1000)
    if _listeners:
        # Listeners learn which apps' objects changed, so one change per app is kept until the commit:
        # a bulk write in batches (seeding a million users) does not hold every row until it commits.
        per_app = list({row.app_id: row for row in rows}.values())
        transaction.on_commit(lambda: _notify(per_app))
    return rows


def _notify(rows: list[DirectoryChange]) -> None:
    for listener in _listeners:
        listener(rows)


def changes_since(watermark: int, limit: int = 10_000) -> list[DirectoryChange]:
    """Changes after ``watermark`` in sequence order: one indexed range query."""
    return list(DirectoryChange.objects.filter(seq__gt=watermark).order_by("seq")[:limit])


def current_watermark() -> int:
    last = DirectoryChange.objects.order_by("-seq").values_list("seq", flat=True).first()
    return last or 0
