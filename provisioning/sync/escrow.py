"""Load and save the escrow record (source ↔ target links) and write the outcomes' log rows in bulk."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone

from provisioning.engine import bounded
from provisioning.engine.outcome import FORGET, Outcome, Step
from provisioning.engine.source import EscrowRecord
from provisioning.models import EscrowEntry, EscrowState, ProvisioningJob, ProvisioningLog


def record_value_limit() -> int:
    """Characters of one value kept in the escrow record and in a log row (PROVISIONING_RECORD_VALUE_LIMIT)."""
    return getattr(settings, "PROVISIONING_RECORD_VALUE_LIMIT", 4096)


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
    rows = EscrowEntry.objects.filter(job_id=job_id, object_kind=kind).exclude(state=EscrowState.DELETED)
    return [str(s) for s in rows.order_by("pk").values_list("source_id", flat=True)]


def save(job: ProvisioningJob, cycle_id: uuid.UUID | str, outcomes: list[Outcome]) -> None:
    """Persist escrow changes and one log row per outcome (bulk: a few queries per page)."""
    forget = [o for o in outcomes if o.escrow == FORGET]
    keep = [o for o in outcomes if isinstance(o.escrow, EscrowRecord)]
    for kind in {o.kind for o in forget}:
        EscrowEntry.objects.filter(
            job=job, object_kind=kind, source_id__in=[o.source_id for o in forget if o.kind == kind]
        ).delete()
    limit = record_value_limit()
    if keep:
        for kind in {o.kind for o in keep}:
            # a target id can move to another source object only after its old link is gone
            EscrowEntry.objects.filter(
                job=job, object_kind=kind, target_id__in=[o.escrow.target_id for o in keep if o.kind == kind]
            ).exclude(source_id__in=[o.source_id for o in keep if o.kind == kind]).delete()
        EscrowEntry.objects.bulk_create(
            [
                EscrowEntry(
                    job=job,
                    object_kind=o.kind,
                    source_id=o.source_id,
                    target_id=o.escrow.target_id,
                    exported=bounded.record_values(o.escrow.exported, limit),
                    members=o.escrow.members,
                    state=o.escrow.state,
                )
                for o in keep
            ],
            update_conflicts=True,
            unique_fields=["job", "object_kind", "source_id"],
            update_fields=["target_id", "exported", "members", "state", "updated_at"],
            batch_size=500,
        )
    write_logs(job, cycle_id, outcomes)


_STATUS_RANK = {"failure": 3, "warning": 2, "success": 1, "skipped": 0}
_WROTE = {"Create", "Update", "Disable", "Delete"}


def write_logs(job: ProvisioningJob, cycle_id: uuid.UUID | str, outcomes: list[Outcome]) -> None:
    """One log row per object per cycle: an object processed again in the same cycle (the references
    phase that adds a manager once it exists) is merged into the row its first pass wrote."""
    now = timezone.now()
    limit = record_value_limit()
    rows = [_log_row(job, cycle_id, now, o, limit) for o in outcomes]
    earlier: dict[tuple[str, str], ProvisioningLog] = {}
    if rows:
        existing = ProvisioningLog.objects.filter(
            job=job, cycle_id=cycle_id, source_id__in=[r.source_id for r in rows if r.source_id]
        )
        earlier = {(r.object_kind, r.source_id): r for r in existing}
    merged = [
        _merge(earlier[(r.object_kind, r.source_id)], r)
        for r in rows
        if (r.object_kind, r.source_id) in earlier
    ]
    ProvisioningLog.objects.bulk_create(
        [r for r in rows if (r.object_kind, r.source_id) not in earlier], batch_size=500
    )
    if merged:
        ProvisioningLog.objects.bulk_update(merged, _MERGED_FIELDS, batch_size=500)


_MERGED_FIELDS = [
    "activity_at",
    "action",
    "status",
    "duration_ms",
    "target_id",
    "target_name",
    "steps",
    "modified_properties",
    "error_code",
    "error_category",
    "error_reason",
    "recommended_action",
    "retry_count",
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


def _log_row(job: ProvisioningJob, cycle_id: uuid.UUID | str, now, o: Outcome, limit: int) -> ProvisioningLog:
    return ProvisioningLog(
        job=job,
        activity_at=now,
        cycle_id=cycle_id,
        change_id=o.change_id,
        action=o.action,
        status=o.status if o.status != "pending" else "skipped",
        duration_ms=o.duration_ms,
        object_kind=o.kind,
        source_id=o.source_id,
        source_name=o.source_name[:256],
        target_id=o.target_id[:256],
        target_name=o.target_name[:256],
        steps=[_bounded_step(s, limit) for s in o.steps],
        modified_properties=[_bounded_change(m, limit) for m in o.modified],
        error_code=o.error.code if o.error else "",
        error_category=str(o.error.category) if o.error else "",
        error_reason=bounded.for_log(o.error.reason, limit) if o.error else "",
        recommended_action=o.error.recommended_action if o.error else "",
        retry_count=o.retry_count,
    )


def _bounded_step(step: Step, limit: int) -> dict:
    data = {
        **step.to_dict(),
        "description": bounded.for_log(step.description, limit),
        "details": bounded.log_details(step.details, limit),
    }
    if "descriptionParams" in data:
        data["descriptionParams"] = bounded.log_details(data["descriptionParams"], limit)
    return data


def _bounded_change(change: dict, limit: int) -> dict:
    return {
        **change,
        "old": bounded.for_log(change.get("old"), limit),
        "new": bounded.for_log(change.get("new"), limit),
    }
