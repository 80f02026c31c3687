"""Write the outcomes' log rows in bulk: one row per object per cycle, values bounded for display."""

from __future__ import annotations

import uuid
from functools import partial

from django.conf import settings
from django.db import connection
from django.utils import timezone

from provisioning.engine import bounded
from provisioning.engine.outcome import Outcome, Step
from provisioning.models import ProvisioningJob, ProvisioningLog
from provisioning.sync import bulk_rows

_STATUS_RANK = {"failure": 3, "warning": 2, "success": 1, "skipped": 0}
_WROTE = {"Create", "Update", "Disable", "Delete"}


def write_logs(job: ProvisioningJob, cycle_id: uuid.UUID | str, outcomes: list[Outcome]) -> None:
    """One log row per object per cycle: an object processed again in the same cycle (the references
    phase that adds a manager once it exists) is merged into the row its first pass wrote."""
    if not outcomes:
        return
    now = timezone.now()
    limit = settings.PROVISIONING_RECORD_VALUE_LIMIT
    rows = [_log_values(job, cycle_id, now, o, limit) for o in outcomes]
    earlier = _earlier_rows(job.pk, cycle_id, [r["source_id"] for r in rows if r["source_id"]])
    merged = [
        _merge(earlier[(r["object_kind"], r["source_id"])], ProvisioningLog(**r))
        for r in rows
        if (r["object_kind"], r["source_id"]) in earlier
    ]
    bulk_rows.insert_rows(
        ProvisioningLog,
        LOG_FIELDS,
        [
            tuple(r[name] for name in LOG_FIELDS)
            for r in rows
            if (r["object_kind"], r["source_id"]) not in earlier
        ],
    )
    if merged:
        ProvisioningLog.objects.bulk_update(merged, _MERGED_FIELDS, batch_size=500)


def _earlier_rows(
    job_id: int, cycle_id: uuid.UUID | str, source_ids: list[str]
) -> dict[tuple[str, str], ProvisioningLog]:
    """This cycle's rows for these objects, written by an earlier pass (usually none: one cheap query)."""
    if not source_ids:
        return {}
    table, col = bulk_rows.table(ProvisioningLog), partial(bulk_rows.column, ProvisioningLog)
    (cycle,) = bulk_rows.db_values(ProvisioningLog, "cycle_id", [cycle_id])
    found: list[int] = []
    with connection.cursor() as cursor:
        for start in range(0, len(source_ids), bulk_rows.BATCH):
            batch = source_ids[start : start + bulk_rows.BATCH]
            condition, params = bulk_rows.in_values(col("source_id"), batch)
            cursor.execute(
                f"SELECT {col('id')} FROM {table} WHERE {condition} AND {col('job')} = %s "
                f"AND {col('cycle_id')} = %s",
                [*params, job_id, cycle],
            )
            found += [pk for (pk,) in cursor.fetchall()]
    if not found:
        return {}
    return {(r.object_kind, r.source_id): r for r in ProvisioningLog.objects.filter(pk__in=found)}


LOG_FIELDS = (
    "job_id",
    "log_id",
    "activity_at",
    "cycle_id",
    "change_id",
    "action",
    "status",
    "duration_ms",
    "object_kind",
    "source_id",
    "source_name",
    "target_id",
    "target_name",
    "steps",
    "modified_properties",
    "error_code",
    "error_category",
    "error_reason",
    "recommended_action",
    "retry_count",
)

# Fields a later pass may change; the row's identity (job, ids, cycle, change, object) stays the first pass's.
_MERGED_FIELDS = [
    name
    for name in LOG_FIELDS
    if name not in {"job_id", "log_id", "cycle_id", "change_id", "object_kind", "source_id", "source_name"}
]


def _merge(row: ProvisioningLog, later: ProvisioningLog) -> ProvisioningLog:
    """Fold a later pass over the object into its row: all steps, the worst status, the latest error."""
    # The action that failed is the one to show; otherwise the one that changed the target first.
    if row.action not in _WROTE or (later.action in _WROTE and later.status == "failure"):
        row.action = later.action
    if _STATUS_RANK.get(later.status, 0) >= _STATUS_RANK.get(row.status, 0):
        row.status = later.status
    row.activity_at = later.activity_at
    row.duration_ms += later.duration_ms
    row.retry_count = max(row.retry_count, later.retry_count)
    row.target_id = later.target_id or row.target_id
    row.target_name = later.target_name or row.target_name
    row.steps = [*(row.steps or []), *(later.steps or [])]
    modified = {p.get("name"): dict(p) for p in row.modified_properties or []}
    for prop in later.modified_properties or []:
        first = modified.get(prop.get("name"))
        modified[prop.get("name")] = {**prop, "old": first.get("old")} if first else dict(prop)
    row.modified_properties = list(modified.values())
    if later.error_code:
        row.error_code, row.error_category = later.error_code, later.error_category
        row.error_reason, row.recommended_action = later.error_reason, later.recommended_action
    return row


def _log_values(job: ProvisioningJob, cycle_id: uuid.UUID | str, now, o: Outcome, limit: int) -> dict:
    """The log row of one outcome, by field (``LOG_FIELDS``)."""
    return {
        "job_id": job.pk,
        "log_id": uuid.uuid4(),
        "activity_at": now,
        "cycle_id": cycle_id,
        "change_id": o.change_id,
        "action": o.action,
        "status": o.status if o.status != "pending" else "skipped",
        "duration_ms": o.duration_ms,
        "object_kind": o.kind,
        "source_id": o.source_id,
        "source_name": o.source_name[:256],
        "target_id": o.target_id[:256],
        "target_name": o.target_name[:256],
        "steps": [_bounded_step(s, limit) for s in o.steps],
        "modified_properties": [_bounded_change(m, limit) for m in o.modified],
        "error_code": o.error.code if o.error else "",
        "error_category": str(o.error.category) if o.error else "",
        "error_reason": bounded.for_log(o.error.reason, limit) if o.error else "",
        "recommended_action": o.error.recommended_action if o.error else "",
        "retry_count": o.retry_count,
    }


def _bounded_step(step: Step, limit: int) -> dict:
    data = step.to_dict()
    data["description"] = bounded.for_log(step.description, limit)
    if step.details:
        data["details"] = bounded.log_details(step.details, limit)
    if "descriptionParams" in data:
        data["descriptionParams"] = bounded.log_details(data["descriptionParams"], limit)
    return data


def _bounded_change(change: dict, limit: int) -> dict:
    return {
        **change,
        "old": bounded.for_log(change.get("old"), limit),
        "new": bounded.for_log(change.get("new"), limit),
    }
