"""Load and save the escrow record: the links between source objects and the target's objects."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from functools import partial

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from provisioning.engine import bounded
from provisioning.engine.outcome import FORGET, Outcome
from provisioning.engine.source import EscrowRecord
from provisioning.logs.writer import write_logs
from provisioning.models import EscrowEntry, EscrowState, ProvisioningJob
from provisioning.sync import bulk_rows


def record_value_limit() -> int:
    """Characters of one value kept in the escrow record and in a log row (PROVISIONING_RECORD_VALUE_LIMIT)."""
    return settings.PROVISIONING_RECORD_VALUE_LIMIT


def load(job_id: int, kind: str, source_ids: Iterable[str]) -> dict[str, EscrowRecord]:
    rows = EscrowEntry.objects.filter(job_id=job_id, object_kind=kind, source_id__in=list(source_ids))
    return {
        str(r.source_id): EscrowRecord(r.target_id, r.exported, r.members, r.state)
        for r in rows.only("source_id", "target_id", "exported", "members", "state")
    }


def resolver(job_id: int):
    """(kind, source ids) → target ids of the objects this app manages and has not disabled."""

    def resolve(kind: str, source_ids: list[str]) -> dict[str, str]:
        rows = EscrowEntry.objects.filter(
            job_id=job_id, object_kind=kind, source_id__in=source_ids, state=EscrowState.ACTIVE
        ).values_list("source_id", "target_id")
        return {str(s): t for s, t in rows}

    return resolve


def source_ids(job_id: int, kind: str) -> list[str]:
    return [str(s) for s in source_ids_query(job_id, kind)]


def source_ids_query(job_id: int, kind: str, *, except_in: QuerySet | None = None) -> QuerySet:
    """The source ids of the job's live links, in link order; ``except_in`` (a query of ids) left out."""
    rows = EscrowEntry.objects.filter(job_id=job_id, object_kind=kind).exclude(state=EscrowState.DELETED)
    if except_in is not None:
        rows = rows.exclude(source_id__in=except_in)
    return rows.order_by("pk").values_list("source_id", flat=True)


def save(job: ProvisioningJob, cycle_id: uuid.UUID | str, outcomes: list[Outcome]) -> None:
    """Persist escrow changes and one log row per outcome: a few statements per page, whatever its size."""
    forget = [o for o in outcomes if o.escrow == FORGET]
    keep = [o for o in outcomes if isinstance(o.escrow, EscrowRecord)]
    for kind in sorted({o.kind for o in forget}):
        _delete_links(job.pk, kind, source_ids=[o.source_id for o in forget if o.kind == kind])
    limit = record_value_limit()
    now = timezone.now()
    for kind in sorted({o.kind for o in keep}):
        # a target id can move to another source object only after its old link is gone
        mine = [o for o in keep if o.kind == kind]
        _delete_links(
            job.pk,
            kind,
            target_ids=[o.escrow.target_id for o in mine],
            except_source_ids=[o.source_id for o in mine],
        )
    bulk_rows.insert_rows(
        EscrowEntry,
        ESCROW_FIELDS,
        [
            (
                job.pk,
                o.kind,
                o.source_id,
                o.escrow.target_id,
                bounded.record_values(o.escrow.exported, limit),
                o.escrow.members,
                o.escrow.state,
                now,
            )
            for o in keep
        ],
        conflict=("job_id", "object_kind", "source_id"),
        update=("target_id", "exported", "members", "state", "updated_at"),
    )
    write_logs(job, cycle_id, outcomes)


ESCROW_FIELDS = (
    "job_id",
    "object_kind",
    "source_id",
    "target_id",
    "exported",
    "members",
    "state",
    "updated_at",
)


def _delete_links(
    job_id: int,
    kind: str,
    *,
    source_ids: list[str] | None = None,
    target_ids: list[str] | None = None,
    except_source_ids: Sequence[str] = (),
) -> None:
    """DELETE the job's escrow rows of ``kind`` with these source ids, or these target ids but not
    those source ids (a statement per 500 ids: no model instances, no ORM compilation per id)."""
    table, col = bulk_rows.table(EscrowEntry), partial(bulk_rows.column, EscrowEntry)
    source = bulk_rows.db_values(EscrowEntry, "source_id", list(except_source_ids or source_ids or []))
    keys = list(target_ids) if target_ids is not None else source
    with connection.cursor() as cursor:
        for start in range(0, len(keys), bulk_rows.BATCH):
            batch = keys[start : start + bulk_rows.BATCH]
            sql = f"DELETE FROM {table} WHERE {col('job')} = %s AND {col('object_kind')} = %s AND "
            if target_ids is None:
                condition, params = bulk_rows.in_values(col("source_id"), batch)
                cursor.execute(sql + condition, [job_id, kind, *params])
                continue
            condition, params = bulk_rows.in_values(col("target_id"), batch)
            if source:
                keep, kept = bulk_rows.in_values(col("source_id"), source)
                condition, params = f"{condition} AND NOT ({keep})", [*params, *kept]
            cursor.execute(sql + condition, [job_id, kind, *params])
