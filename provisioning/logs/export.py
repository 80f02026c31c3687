"""Provisioning log records in Graph's shape, and the streamed CSV / JSON downloads.

Why streamed: a tenant-wide download can be a million rows. Rows are read through a server-side cursor
(``.iterator(chunk_size=...)``) and written out a chunk at a time, so memory stays flat whatever the
size. As in Entra, CSV is three files joined on the change id (the logs, their steps, their modified
properties) and JSON is one minified array of ``provisioningObjectSummary``-like objects.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_noop

from provisioning.models import ProvisioningJob, ProvisioningLog

CHUNK_SIZE = 2000
ROWS_PER_WRITE = 500  # rows per yielded string: fewer, larger writes without holding much in memory
INITIATOR = {"id": "", "displayName": "Provisioning Service", "initiatorType": "system"}
SOURCE_SYSTEM = {"id": "", "displayName": "Directory", "details": {}}

# Our step names → Graph's provisioningStepType.
STEP_TYPES = {
    "Import": "import",
    "Scoping": "scoping",
    "Matching": "matching",
    "Processing": "processing",
    "ReferenceResolution": "referenceResolution",
    "Export": "export",
}
ACTIONS = {"Create": "create", "Update": "update", "Delete": "delete", "Disable": "disable"}

# What Entra's docs say about codes the engine does not already explain in recommended_action.
ERROR_GUIDANCE = {
    "Conflict": gettext_noop(
        "Conflicting values: fix them in the source or the target, or adjust the matching attributes."
    ),
    "EntryConflict": gettext_noop(
        "Conflicting values: fix them in the source or the target, or adjust the matching attributes."
    ),
    "TooManyRequests": gettext_noop("The target throttled the request; it is retried automatically."),
    "InternalServerError": gettext_noop(
        "The target failed (5xx); the operation is retried in the next cycle."
    ),
    "InsufficientRights": gettext_noop("The credentials are valid but not authorized for this operation."),
    "Unauthorized": gettext_noop(
        "The target refused the credentials: enter a valid secret token and test the connection."
    ),
    "InvalidAnchor": gettext_noop(
        "An object created or matched earlier no longer exists in the target. Restart provisioning to match again."
    ),
    "MandatoryFieldsMissing": gettext_noop(
        "A required value is missing on the source object, or the mapping yields none."
    ),
    "SchemaAttributeNotFound": gettext_noop(
        "The target attribute does not exist in the target: remove it from the mappings."
    ),
    "Timeout": gettext_noop("The target was too slow; the operation is retried in the next cycle."),
    "WebExceptionProtocolError": gettext_noop(
        "HTTP protocol error; the operation is retried in the next cycle."
    ),
    "DuplicateTargetEntries": gettext_noop(
        "More than one target object matches: make the matching attribute unique."
    ),
    "DuplicateSourceEntries": gettext_noop(
        "More than one source object matches: make the matching attribute unique."
    ),
    "ImportSkipped": gettext_noop("The matching attribute has no value on the source object."),
    "EntrySynchronizationSkipped": gettext_noop("Out of scope, or already in sync: nothing to do."),
}
TRANSIENT_CATEGORIES = {"transient"}


def step_type(name: str) -> str:
    return STEP_TYPES.get(name, name[:1].lower() + name[1:] if name else "")


def guidance(log: ProvisioningLog) -> str:
    """The recommended action shown on the Troubleshooting tab: the engine's, else Entra's for the code."""
    return log.recommended_action or ERROR_GUIDANCE.get(log.error_code, "")


def failed_exchange(log: ProvisioningLog) -> dict[str, Any] | None:
    """The request the failed step sent and the answer it got (``{"request", "response"}``), if recorded."""
    for step in reversed(log.steps or []):
        details = step.get("details") if isinstance(step, dict) else None
        if (
            step.get("status") == "failure"
            and isinstance(details, dict)
            and (details.get("request") or details.get("response"))
        ):
            return {"request": details.get("request"), "response": details.get("response")}
    return None


def exchange_text(log: ProvisioningLog) -> str | None:
    """:func:`failed_exchange` as one line of text (Graph's ``errorInformation.additionalDetails``)."""
    exchange = failed_exchange(log)
    if exchange is None:
        return None
    parts = []
    request, response = exchange["request"] or {}, exchange["response"] or {}
    if request:
        parts.append(
            f"Request: {request.get('operation') or ''} {request.get('method') or ''} {request.get('path') or ''}"
            + (f" {json.dumps(request['body'], sort_keys=True)}" if request.get("body") is not None else "")
        )
    if response:
        parts.append(
            f"Response: HTTP {response.get('status')}"
            + (f" scimType {response['scimType']}" if response.get("scimType") else "")
            + (f": {response['detail']}" if response.get("detail") else "")
        )
    return " | ".join(" ".join(p.split()) for p in parts) or None


def job_directory() -> dict[int, dict[str, Any]]:
    """Every job with its app's identifiers, loaded once per download (a handful of rows)."""
    rows = ProvisioningJob.objects.values_list(
        "pk",
        "job_id",
        "application__display_name",
        "application__app_id",
        "application__service_principal_id",
    )
    return {
        pk: {"job_id": jid, "app_name": name, "app_id": str(app_id), "sp_id": str(sp_id)}
        for pk, jid, name, app_id, sp_id in rows
    }


def job_directory_for(job: ProvisioningJob | None) -> dict[str, Any]:
    """One job's entry of :func:`job_directory` (the detail panel shows a single record)."""
    if job is None:
        return {}
    app = job.application
    return {
        "job_id": job.job_id,
        "app_name": app.display_name,
        "app_id": str(app.app_id),
        "sp_id": str(app.service_principal_id),
    }


def graph_record(log: ProvisioningLog, job: dict[str, Any]) -> dict[str, Any]:
    """One log row as Graph's provisioningObjectSummary (what JSON download and the Summary tab show)."""
    error = None
    if log.error_code or log.error_reason:
        error = {
            "errorCode": log.error_code,
            "reason": log.error_reason,
            "additionalDetails": exchange_text(log),
            "errorCategory": log.error_category,
            "recommendedAction": guidance(log) or None,
        }
    return {
        "id": str(log.pk),
        "activityDateTime": _iso(log.activity_at),
        "jobId": job.get("job_id", ""),
        "cycleId": str(log.cycle_id),
        "changeId": str(log.change_id),
        "provisioningAction": ACTIONS.get(log.action, "other"),
        "durationInMilliseconds": log.duration_ms,
        "initiatedBy": INITIATOR,
        "servicePrincipal": {"id": job.get("sp_id", ""), "displayName": job.get("app_name", "")},
        "sourceSystem": SOURCE_SYSTEM,
        "targetSystem": {
            "id": job.get("app_id", ""),
            "displayName": job.get("app_name", ""),
            "details": {
                "ApplicationId": job.get("app_id", ""),
                "ServicePrincipalId": job.get("sp_id", ""),
                "ServicePrincipalDisplayName": job.get("app_name", ""),
            },
        },
        "sourceIdentity": {
            "id": log.source_id,
            "displayName": log.source_name,
            "identityType": log.object_kind,
            "details": {},
        },
        "targetIdentity": {
            "id": log.target_id,
            "displayName": log.target_name,
            "identityType": log.object_kind,
            "details": {},
        },
        "modifiedProperties": [
            {
                "displayName": p.get("name", ""),
                "oldValue": _text(p.get("old")),
                "newValue": _text(p.get("new")),
            }
            for p in log.modified_properties or []
        ],
        "provisioningSteps": [
            {
                "name": s.get("name", ""),
                "provisioningStepType": step_type(s.get("name", "")),
                "status": s.get("status", ""),
                "description": s.get("description", ""),
                "details": s.get("details") or {},
            }
            for s in log.steps or []
        ],
        "provisioningStatusInfo": {"status": log.status, "errorInformation": error},
        "retryCount": log.retry_count,
    }


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _text(value: Any) -> str | None:
    """Modified-property values as Entra shows them: text, lists joined, None stays None."""
    if value is None:
        return None
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True)
    return str(value)


# --- streaming --------------------------------------------------------------------------------------


def _rows(queryset: QuerySet[ProvisioningLog]) -> Iterator[ProvisioningLog]:
    """Rows through a server-side cursor. On PostgreSQL inside a read transaction, so the cursor streams
    instead of being materialised WITH HOLD; on SQLite without one (IMMEDIATE transactions would hold
    the write lock for the whole download)."""
    guard = transaction.atomic() if connection.vendor == "postgresql" else nullcontext()
    with guard:
        yield from queryset.iterator(chunk_size=CHUNK_SIZE)


class _Line:
    """A file-like object whose write() returns the text, for csv.writer without a buffer."""

    def write(self, value: str) -> str:
        return value


CSV_PARTS = {
    "logs": (
        "ProvisioningLogs.csv",
        [
            "Date (UTC)",
            "Identity",
            "Source ID",
            "Target ID",
            "Target name",
            "Object type",
            "Action",
            "Status",
            "Application",
            "Job ID",
            "Cycle ID",
            "Change ID",
            "Duration (ms)",
            "Error code",
            "Error category",
            "Reason",
            "Recommended action",
            "Retry count",
        ],
    ),
    "steps": (
        "ProvisioningLogs_ProvisioningSteps.csv",
        ["Change ID", "Step", "Name", "Step type", "Status", "Description", "Details"],
    ),
    "modified": (
        "ProvisioningLogs_ModifiedProperties.csv",
        ["Change ID", "Property", "Old value", "New value"],
    ),
}


def _columns(queryset: QuerySet[ProvisioningLog], part: str) -> QuerySet[ProvisioningLog]:
    """Read only what the part writes: the big JSON columns only for the file that needs them."""
    if part == "steps":
        return queryset.only("id", "activity_at", "change_id", "steps")
    if part == "modified":
        return queryset.only("id", "activity_at", "change_id", "modified_properties")
    return queryset.defer("steps", "modified_properties")


def csv_filename(part: str) -> str:
    return CSV_PARTS[part][0]


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (names come from the directory, i.e. from users)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_rows(log: ProvisioningLog, part: str, jobs: dict[int, dict[str, Any]]) -> Iterable[list[Any]]:
    if part == "steps":
        for number, step in enumerate(log.steps or [], start=1):
            yield [
                log.change_id,
                number,
                step.get("name", ""),
                step_type(step.get("name", "")),
                step.get("status", ""),
                step.get("description", ""),
                json.dumps(step.get("details") or {}, sort_keys=True, default=str),
            ]
        return
    if part == "modified":
        for prop in log.modified_properties or []:
            yield [log.change_id, prop.get("name", ""), _text(prop.get("old")), _text(prop.get("new"))]
        return
    job = jobs.get(log.job_id, {})
    yield [
        _iso(log.activity_at),
        log.source_name,
        log.source_id,
        log.target_id,
        log.target_name,
        log.object_kind,
        log.action,
        log.status,
        job.get("app_name", ""),
        job.get("job_id", ""),
        log.cycle_id,
        log.change_id,
        log.duration_ms,
        log.error_code,
        log.error_category,
        log.error_reason,
        guidance(log),
        log.retry_count,
    ]


def stream_csv(queryset: QuerySet[ProvisioningLog], part: str = "logs") -> Iterator[str]:
    """The CSV text of one part, a few hundred rows per chunk, starting with a BOM for Excel."""
    header = CSV_PARTS[part][1]
    writer = csv.writer(_Line())
    jobs = job_directory()
    yield "\ufeff" + writer.writerow(header)
    buffer = io.StringIO()
    out = csv.writer(buffer)
    pending = 0
    for log in _rows(_columns(queryset, part)):
        for row in _csv_rows(log, part, jobs):
            out.writerow([_safe(v) for v in row])
        pending += 1
        if pending >= ROWS_PER_WRITE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if buffer.tell():
        yield buffer.getvalue()


def stream_json(queryset: QuerySet[ProvisioningLog]) -> Iterator[str]:
    """A minified JSON array of Graph-shaped records, written a few hundred records at a time."""
    jobs = job_directory()
    yield "["
    first = True
    parts: list[str] = []
    for log in _rows(queryset):
        text = json.dumps(graph_record(log, jobs.get(log.job_id, {})), separators=(",", ":"), default=str)
        parts.append(text if first else "," + text)
        first = False
        if len(parts) >= ROWS_PER_WRITE:
            yield "".join(parts)
            parts.clear()
    if parts:
        yield "".join(parts)
    yield "]"
